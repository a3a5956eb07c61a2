package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.SendInterceptor;
import io.celeriac.beat.Beat;
import io.celeriac.micrometer.CeleriacMetrics;
import io.celeriac.redis.RedisScheduleStore;
import io.celeriac.worker.Worker;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Duration;
import java.time.ZoneId;

/**
 * Celeriac in a Spring Boot application: a {@link Celeriac} bean from {@code celeriac.*}, every bean with
 * {@code @Task} methods registered (the tasks run on the bean, dependencies and proxies included), and a worker and
 * beat started with the context when {@code celeriac.worker.enabled} / {@code celeriac.beat.enabled}.
 */
@AutoConfiguration
@EnableConfigurationProperties(CeleriacProperties.class)
public class CeleriacAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public CeleriacConfig celeriacConfig(CeleriacProperties p) {
        CeleriacConfig.Builder b = CeleriacConfig.loadBuilder(System.getenv());
        if (p.getBrokerUrl() != null) {
            b.brokerUrl(p.getBrokerUrl());
        }
        if (p.getResultBackend() != null) {
            b.resultBackend(p.getResultBackend());
        }
        if (p.getResultExpires() != null) {
            b.resultExpires(p.getResultExpires());
        }
        if (p.getTaskDefaultQueue() != null) {
            b.defaultQueue(p.getTaskDefaultQueue());
        }
        if (p.getTaskAcksLate() != null) {
            b.acksLate(p.getTaskAcksLate());
        }
        if (p.getTaskTimeLimit() != null) {
            b.timeLimit(p.getTaskTimeLimit());
        }
        if (p.getTaskSoftTimeLimit() != null) {
            b.softTimeLimit(p.getTaskSoftTimeLimit());
        }
        if (p.getWorkerPrefetchMultiplier() != null) {
            b.prefetchMultiplier(p.getWorkerPrefetchMultiplier());
        }
        if (p.getTimezone() != null) {
            b.timezone(ZoneId.of(p.getTimezone()));
        }
        p.getTaskRoutes().forEach(b::route);
        if (p.getTaskAlwaysEager() != null) {
            b.alwaysEager(p.getTaskAlwaysEager());
        }
        if (p.getWorker().getConcurrency() != null) {
            b.concurrency(p.getWorker().getConcurrency());
        }
        return b.build();
    }

    /** The app, its sends through the {@link SendInterceptor} beans (after commit, outbox), in their order. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public Celeriac celeriac(CeleriacConfig config, ObjectProvider<SendInterceptor> sendInterceptors) {
        Celeriac.Builder b = Celeriac.builder().config(config);
        sendInterceptors.orderedStream().forEach(b::sendInterceptor);
        return b.build();
    }

    /** {@code celeriac.send-after-commit} (default on): sends in a Spring transaction wait for its commit. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.transaction.support.TransactionSynchronizationManager")
    @ConditionalOnProperty(prefix = "celeriac", name = "send-after-commit", havingValue = "true",
            matchIfMissing = true)
    static class AfterCommitConfiguration {
        @Bean
        public AfterCommitSends celeriacSendAfterCommit() {
            return new AfterCommitSends();
        }
    }

    /**
     * {@code celeriac.outbox.enabled}: sends in a transaction on the application's DataSource are written to the
     * outbox in it, and a relay in this application ({@code celeriac.outbox.relay.enabled}) publishes them.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"io.celeriac.jdbc.JdbcOutbox", "org.springframework.jdbc.datasource.DataSourceUtils"})
    @ConditionalOnProperty(prefix = "celeriac.outbox", name = "enabled", havingValue = "true")
    static class OutboxConfiguration {
        /** After the application's own schema migrations (Flyway, Liquibase, SQL scripts), which may need an empty schema. */
        @Bean
        @ConditionalOnMissingBean
        @org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization
        public io.celeriac.jdbc.JdbcOutbox celeriacOutbox(ObjectProvider<javax.sql.DataSource> dataSource,
                                                           CeleriacProperties props) {
            javax.sql.DataSource ds = dataSource.getIfUnique();
            if (ds == null) {
                throw new IllegalStateException("celeriac.outbox.enabled needs the application's DataSource, the "
                        + "one its transactions use: there is none, or several and none @Primary");
            }
            CeleriacProperties.Outbox p = props.getOutbox();
            io.celeriac.jdbc.JdbcOutbox.Builder b = io.celeriac.jdbc.JdbcOutbox.builder(ds).migrate(p.isMigrate());
            if (p.getKeep() != null) {
                b.keep(p.getKeep());
            }
            return b.build();
        }

        @Bean
        public OutboxSends celeriacOutboxSends(io.celeriac.jdbc.JdbcOutbox outbox) {
            return new OutboxSends(outbox);
        }

        @Bean
        @ConditionalOnProperty(prefix = "celeriac.outbox.relay", name = "enabled", havingValue = "true",
                matchIfMissing = true)
        public OutboxRelayLifecycle celeriacOutboxRelay(Celeriac app, io.celeriac.jdbc.JdbcOutbox outbox,
                                                        OutboxSends sends, CeleriacProperties props) {
            CeleriacProperties.Outbox.Relay p = props.getOutbox().getRelay();
            io.celeriac.jdbc.OutboxRelay.Builder b = outbox.relay(app.broker());
            if (p.getBatchSize() != null) {
                b.batchSize(p.getBatchSize());
            }
            if (p.getPollInterval() != null) {
                b.pollInterval(p.getPollInterval());
            }
            return new OutboxRelayLifecycle(b.build(), sends);
        }
    }

    /** Registers {@code @Task} beans once every singleton exists. */
    @Bean
    public static TaskBeanRegistrar celeriacTaskBeanRegistrar(ObjectProvider<Celeriac> celeriac) {
        return new TaskBeanRegistrar(celeriac);
    }

    @Bean
    @ConditionalOnProperty(prefix = "celeriac.worker", name = "enabled", havingValue = "true")
    public SmartLifecycle celeriacWorker(Celeriac app, CeleriacProperties props,
                                         ObjectProvider<MeterRegistry> meters,
                                         ObjectProvider<io.celeriac.worker.WorkerListener> listeners) {
        return new WorkerLifecycle(app, props.getWorker(), meters.getIfAvailable(), listeners);
    }

    /** {@code celeriac.sentry.dsn}: task failures to Sentry, when celeriac-sentry is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.celeriac.sentry.SentryReporter")
    @ConditionalOnProperty(prefix = "celeriac.sentry", name = "dsn")
    static class SentryConfiguration {
        @Bean
        public io.celeriac.worker.WorkerListener celeriacSentryReporter(CeleriacProperties props) {
            return io.celeriac.sentry.SentryReporter.init(props.getSentry().getDsn());
        }
    }

    @Bean
    @ConditionalOnProperty(prefix = "celeriac.beat", name = "enabled", havingValue = "true")
    public SmartLifecycle celeriacBeat(Celeriac app, CeleriacProperties props) {
        return new BeatLifecycle(app, beatStore(app.config(), props.getBeat().getStore()));
    }

    /**
     * Beat's store: {@code celeriac.beat.store} if set, else the broker's Redis. Both kinds keep a dispatch ledger, so
     * beat also runs on a broker that cannot publish once per key (RabbitMQ), given a store of its own.
     */
    static io.celeriac.beat.ScheduleStore beatStore(CeleriacConfig config, @Nullable String configured) {
        String store = configured != null ? configured : config.brokerUrl();
        if (store.startsWith("jdbc:")) {
            // Needs celeriac-jdbc; credentials as for the CLI (CELERIAC_BEAT_DB_USER / _PASSWORD).
            return io.celeriac.jdbc.JdbcScheduleStore.open(store,
                    System.getenv("CELERIAC_BEAT_DB_USER"), System.getenv("CELERIAC_BEAT_DB_PASSWORD"));
        }
        if (redis(store)) {
            return new RedisScheduleStore(store, config);
        }
        // The store defaults to the broker only where the broker is Redis: RabbitMQ cannot hold schedules.
        throw new IllegalStateException("celeriac.beat.store is " + (configured == null ? "unset and the broker is "
                + io.celeriac.broker.ReconnectBackoff.redact(config.brokerUrl())
                : io.celeriac.broker.ReconnectBackoff.redact(configured)) + ": beat keeps its entries, lease and "
                + "dispatch records in Redis or a database; set celeriac.beat.store to a jdbc: URL (with "
                + "celeriac-jdbc) or a redis:// URL (a redis:// or jdbc: URL is what it takes)");
    }

    private static boolean redis(String url) {
        return io.celeriac.redis.RedisUrl.isRedisUrl(url);
    }

    /** {@code celeriac.dashboard.enabled}: the dashboard on its own port, when celeriac-dashboard is present. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.celeriac.dashboard.Dashboard")
    @ConditionalOnProperty(prefix = "celeriac.dashboard", name = "enabled", havingValue = "true")
    static class DashboardConfiguration {
        @Bean
        public SmartLifecycle celeriacDashboard(Celeriac app, CeleriacProperties props) {
            return new DashboardLifecycle(app, props.getDashboard());
        }
    }

    static final class DashboardLifecycle implements SmartLifecycle {
        private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DashboardLifecycle.class);
        private final Celeriac app;
        private final CeleriacProperties.Dashboard props;
        private volatile io.celeriac.dashboard.@Nullable Dashboard dashboard;

        DashboardLifecycle(Celeriac app, CeleriacProperties.Dashboard props) {
            this.app = app;
            this.props = props;
        }

        @Override
        public void start() {
            String broker = app.config().brokerUrl();
            boolean redis = redis(broker);
            io.celeriac.dashboard.Dashboard.Builder b = io.celeriac.dashboard.Dashboard.builder(app)
                    .host(props.getAddress()).port(props.getPort()).historySize(props.getHistorySize())
                    .historyUrl(props.getHistoryUrl());
            if (redis) {
                b.scheduleStore(new RedisScheduleStore(broker, app.config()));
            }
            b.users(props.getAdminUsers(), io.celeriac.dashboard.Role.ADMIN)
                    .users(props.getReadonlyUsers(), io.celeriac.dashboard.Role.READ_ONLY);
            dashboard = b.build().start();
            dashboard.generatedPassword().ifPresent(pw -> log.warn(
                    "Celeriac dashboard: no admin user configured; log in as admin with password {}", pw));
        }

        /** The port it listens on (useful with port 0). */
        public int port() {
            return dashboard == null ? -1 : dashboard.port();
        }

        @Override
        public void stop() {
            if (dashboard != null) {
                dashboard.close();
                dashboard = null;
            }
        }

        @Override
        public boolean isRunning() {
            return dashboard != null;
        }
    }

    private static @Nullable SmartLifecycle worker(org.springframework.beans.factory.BeanFactory beans) {
        return beans.containsBean("celeriacWorker") ? beans.getBean("celeriacWorker", SmartLifecycle.class) : null;
    }

    /** Actuator health on Boot 3, when Actuator is present. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.health.HealthIndicator")
    static class HealthConfiguration {
        @Bean
        @ConditionalOnMissingBean(name = "celeriacHealthIndicator")
        public CeleriacHealthIndicator celeriacHealthIndicator(Celeriac app,
                                                               org.springframework.beans.factory.BeanFactory beans) {
            return new CeleriacHealthIndicator(app, worker(beans));
        }
    }

    /** Actuator health on Boot 4 (org.springframework.boot.health), when present. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    static class Boot4HealthConfiguration {
        @Bean
        @ConditionalOnMissingBean(name = "celeriacHealthIndicator")
        public CeleriacBoot4HealthIndicator celeriacHealthIndicator(Celeriac app,
                                                                    org.springframework.beans.factory.BeanFactory beans) {
            return new CeleriacBoot4HealthIndicator(app, worker(beans));
        }
    }

    /** Starts the worker after the context is refreshed (tasks registered), warm shutdown when it closes. */
    static final class WorkerLifecycle implements SmartLifecycle {
        private final Celeriac app;
        private final CeleriacProperties.Worker props;
        private final @Nullable MeterRegistry meters;
        private final ObjectProvider<io.celeriac.worker.WorkerListener> listeners;
        private volatile @Nullable Worker worker;

        WorkerLifecycle(Celeriac app, CeleriacProperties.Worker props, @Nullable MeterRegistry meters,
                        ObjectProvider<io.celeriac.worker.WorkerListener> listeners) {
            this.app = app;
            this.props = props;
            this.meters = meters;
            this.listeners = listeners;
        }

        @Override
        public void start() {
            Worker.Builder b = app.worker().queues(props.getQueues()).sendEvents(props.isSendEvents());
            if (props.getConcurrency() != null) {
                b.concurrency(props.getConcurrency());
            }
            if (props.getHostname() != null) {
                b.hostname(props.getHostname());
            }
            if (meters != null) {
                b.listener(new CeleriacMetrics(meters));
            }
            // Any WorkerListener bean (Sentry's, the application's own) hears the worker too.
            listeners.orderedStream().forEach(b::listener);
            Worker w = b.build();
            worker = w;
            // Worker.start waits for the broker (broker_connection_retry_on_startup). Started on its own thread so
            // that the application itself comes up while the broker is down; stop() ends that wait.
            Thread starter = new Thread(() -> {
                try {
                    w.start();
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(WorkerLifecycle.class).error("Celeriac worker did not start: {}",
                            e.getMessage(), e);
                }
            }, "celeriac-worker-start");
            starter.setDaemon(true);
            starter.start();
        }

        @Override
        public void stop() {
            Worker w = worker;
            if (w != null) {
                w.shutdown(props.getShutdownGrace() == null ? Duration.ofSeconds(30) : props.getShutdownGrace());
            }
            worker = null;
        }

        @Override
        public boolean isRunning() {
            return worker != null;
        }

        @Override
        public int getPhase() {
            // Late: start after web servers and other beans, stop before them.
            return Integer.MAX_VALUE - 100;
        }
    }

    static final class BeatLifecycle implements SmartLifecycle {
        private final Beat beat;
        private volatile boolean running;

        BeatLifecycle(Celeriac app, io.celeriac.beat.ScheduleStore store) {
            this.beat = new Beat(app, store);
        }

        @Override
        public void start() {
            beat.start();
            running = true;
        }

        @Override
        public void stop() {
            beat.close();
            running = false;
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public int getPhase() {
            return Integer.MAX_VALUE - 100;
        }
    }
}
