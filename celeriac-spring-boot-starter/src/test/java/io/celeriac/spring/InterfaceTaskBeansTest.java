package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.Task;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bean implementing an interface whose methods carry {@code @Task} registers the interface's tasks, and a typed
 * call by the interface's method reaches it.
 */
class InterfaceTaskBeansTest {
    /** The tasks' contract; senders need only this. */
    public interface Greetings {
        @Task(name = "spring.hello")
        String hello(String name);
    }

    /** The worker's side, as a Spring bean, with no {@code @Task} of its own. */
    public static class GreetingBean implements Greetings {
        @Override
        public String hello(String name) {
            return "hello " + name;
        }
    }

    @Test
    void aBeanImplementingAnInterfacesTasksRegistersThem() {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build()).build();
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext()) {
            context.registerBean(GreetingBean.class);
            context.registerBean(TaskBeanRegistrar.class,
                    () -> new TaskBeanRegistrar(context.getBeanProvider(Celeriac.class)));
            context.registerBean(Celeriac.class, () -> app);
            context.refresh();

            assertThat(app.registry().get("spring.hello").source())
                    .isEqualTo(GreetingBean.class.getName() + "#hello(String)");
            assertThat(app.send(Greetings::hello, "ada").get(Duration.ZERO)).isEqualTo("hello ada");
        } finally {
            app.close();
        }
    }
}
