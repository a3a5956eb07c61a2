package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.task.Task;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;

import java.lang.reflect.Method;
import java.util.Map;

/**
 * Finds beans with {@code @Task} methods and registers them with the app, so tasks run on the Spring bean (its
 * dependencies injected, its proxies applied). A duplicate task name fails the context start, naming both methods.
 */
public final class TaskBeanRegistrar implements SmartInitializingSingleton, BeanFactoryAware {
    private final ObjectProvider<Celeriac> celeriac;
    private ConfigurableListableBeanFactory beanFactory;

    TaskBeanRegistrar(ObjectProvider<Celeriac> celeriac) {
        this.celeriac = celeriac;
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) throws BeansException {
        this.beanFactory = (ConfigurableListableBeanFactory) beanFactory;
    }

    @Override
    public void afterSingletonsInstantiated() {
        Celeriac app = celeriac.getIfAvailable();
        if (app == null) {
            return;
        }
        for (String name : beanFactory.getBeanDefinitionNames()) {
            Class<?> type = beanFactory.getType(name);
            if (type == null || !beanFactory.isSingleton(name)) {
                continue;
            }
            Class<?> target = org.springframework.util.ClassUtils.getUserClass(type);
            Map<Method, Task> tasks = MethodIntrospector.selectMethods(target,
                    (MethodIntrospector.MetadataLookup<Task>) m -> AnnotatedElementUtils.findMergedAnnotation(m,
                            Task.class));
            if (tasks.isEmpty()) {
                continue;
            }
            Object bean = beanFactory.getBean(name);
            for (Method m : tasks.keySet()) {
                // Invoked through the bean (a CGLIB proxy dispatches to its advice); JDK proxies need the
                // interface method, so call the target class's method on the bean only if it can take it.
                Object receiver = AopUtils.isJdkDynamicProxy(bean) ? targetOf(bean) : bean;
                app.registry().register(app.registry().definitionOf(receiver, m));
            }
        }
    }

    private static Object targetOf(Object proxy) {
        Object target = org.springframework.aop.framework.AopProxyUtils.getSingletonTarget(proxy);
        return target == null ? proxy : target;
    }
}
