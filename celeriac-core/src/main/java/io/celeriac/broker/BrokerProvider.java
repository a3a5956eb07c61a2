package io.celeriac.broker;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;

/**
 * Creates brokers and result backends for URL schemes ({@code redis://}, ...). Modules register one through
 * {@code META-INF/services/io.celeriac.broker.BrokerProvider}; the core knows only {@code memory://}.
 */
public interface BrokerProvider {
    /** True for the URL schemes this provider handles. */
    boolean supports(String url);

    Broker createBroker(String url, CeleriacConfig config);

    ResultBackend createResultBackend(String url, CeleriacConfig config);
}
