package io.celeriac.spring;

import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.stereotype.Component;
import org.springframework.stereotype.Service;

/**
 * A small application the starter tests boot. Boot 3.5's Flyway auto-configuration is left out: it expects an older
 * Flyway than the one celeriac-jdbc brings, and these tests have no schema of their own (an embedded H2 DataSource is
 * there only because the starter's transaction tests need spring-jdbc and H2).
 */
@SpringBootApplication(excludeName = "org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration")
public class StarterApp {

    /** An ordinary Spring service the task needs. */
    @Service
    public static class GreetingService {
        public String greet(String name) {
            return "hello " + name;
        }
    }

    /** Tasks on a Spring bean, with a dependency injected by constructor. */
    @Component
    public static class GreetingTasks {
        private final GreetingService greetings;

        public GreetingTasks(GreetingService greetings) {
            this.greetings = greetings;
        }

        @Task(name = "spring.greet", queue = "spring")
        public String greet(TaskContext ctx, String name) {
            return greetings.greet(name) + " from " + ctx.hostname();
        }
    }
}
