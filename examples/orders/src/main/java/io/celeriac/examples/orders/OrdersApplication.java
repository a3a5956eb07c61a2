package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import io.celeriac.beat.CrontabSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.redis.RedisScheduleStore;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

import java.time.ZoneId;

/** The seed's shop: orders in PostgreSQL, work on Celeriac workers, a nightly cleanup from beat. */
@SpringBootApplication
public class OrdersApplication {
    public static void main(String[] args) {
        SpringApplication.run(OrdersApplication.class, args);
    }

    /** Declares the nightly cleanup in the beat store if it is not there yet (edits made later are kept). */
    @Bean
    ApplicationRunner declareSchedule(Celeriac celeriac) {
        return args -> {
            if (!celeriac.config().brokerUrl().startsWith("redis")) {
                return;
            }
            try (RedisScheduleStore store = new RedisScheduleStore(celeriac.config().brokerUrl(), celeriac.config())) {
                if (store.entry("cleanup-expired-carts").isEmpty()) {
                    store.save(ScheduleEntry.of("cleanup-expired-carts", "orders.cleanup_expired_carts",
                            CrontabSchedule.of("0", "3", "*", "*", "*", ZoneId.of("Europe/Paris"))));
                }
            }
        };
    }
}
