package io.celeriac.broker;

/**
 * kombu's priority layout on Redis, shared by the brokers that follow it: priority p goes to the sub-queue of the
 * largest step in 0, 3, 6, 9 not above p, named {@code <queue>\x06\x16<step>} (step 0 is the plain queue), and
 * lower steps are served first.
 */
public final class PriorityLists {
    /** The steps, in serving order. */
    public static final int[] STEPS = {0, 3, 6, 9};
    /** kombu's separator in priority list names and binding members. */
    public static final String SEP = "\u0006\u0016";

    private PriorityLists() {
    }

    /** The step a priority 0-9 falls into. */
    public static int step(int priority) {
        int s = 0;
        for (int step : STEPS) {
            if (step <= priority) {
                s = step;
            }
        }
        return s;
    }

    /** The list holding a queue's messages of a step. */
    public static String listKey(String queue, int step) {
        return step == 0 ? queue : queue + SEP + step;
    }
}
