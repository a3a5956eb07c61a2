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
        // why baselineVersion 0: with the outbox on, Celeriac's own tables may be created first, and in a schema that
        // is not empty Flyway's default baseline (version 1) would mark V1 as applied without running it.
        Flyway.configure().dataSource(dataSource).locations("classpath:db/orders").table("orders_schema_history")
                .baselineOnMigrate(true).baselineVersion("0").load().migrate();
    }
}
