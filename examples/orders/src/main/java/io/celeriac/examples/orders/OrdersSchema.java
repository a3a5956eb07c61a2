package io.celeriac.examples.orders;

import org.flywaydb.core.Flyway;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;

/**
 * Creates the shop's tables with Flyway at start. Run here rather than by Spring Boot's Flyway auto-configuration,
 * whose Boot 3.5 line expects an older Flyway than the one Celeriac pins.
 */
@Component
public class OrdersSchema {
    public OrdersSchema(DataSource dataSource) {
        Flyway.configure().dataSource(dataSource).locations("classpath:db/orders").table("orders_schema_history")
                .baselineOnMigrate(true).load().migrate();
    }
}
