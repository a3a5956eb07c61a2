package io.celeriac.jdbc;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;

/** {@code result_backend = jdbc:postgresql://...} (or {@code jdbc:h2:...}); a database is not a broker. */
public final class JdbcProvider implements BrokerProvider {
    @Override
    public boolean supports(String url) {
        return url.startsWith("jdbc:");
    }

    @Override
    public Broker createBroker(String url, CeleriacConfig config) {
        throw new IllegalArgumentException("a JDBC URL can be the result backend, not the broker; use redis:// "
                + "for broker_url");
    }

    @Override
    public ResultBackend createResultBackend(String url, CeleriacConfig config) {
        // Credentials from the environment (or in the URL, e.g. ?user=...&password=...), not the command line.
        return JdbcResultBackend.open(url, System.getenv("CELERIAC_RESULT_DB_USER"),
                System.getenv("CELERIAC_RESULT_DB_PASSWORD"), config.resultExpires());
    }
}
