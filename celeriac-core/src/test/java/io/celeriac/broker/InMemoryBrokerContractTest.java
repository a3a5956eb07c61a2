package io.celeriac.broker;

/** The in-memory broker keeps the broker contract; each {@link InMemoryBroker#connect()} handle is a consumer. */
class InMemoryBrokerContractTest extends BrokerContract {
    @Override
    protected Transport open() {
        InMemoryBroker store = new InMemoryBroker();
        return new Transport() {
            @Override
            public Broker connect() {
                return store.connect();
            }

            @Override
            public void crash(Broker consumer) {
                // A handle that goes away without settling: its unacked deliveries return, as a dead consumer's do.
                consumer.close();
            }

            @Override
            public void awaitRecovery(Broker survivor) {
                // Nothing to wait for: closing the handle returned its messages.
            }

            @Override
            public void close() {
                store.close();
            }
        };
    }
}
