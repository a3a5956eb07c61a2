package io.celeriac;

import java.util.regex.Pattern;

/**
 * One entry of {@code task_routes}: task names matching {@code pattern} (an exact name, or a glob such as
 * {@code orders.*}) go to {@code queue}.
 */
public record TaskRoute(String pattern, String queue) {
    public TaskRoute {
        if (pattern == null || pattern.isBlank() || queue == null || queue.isBlank()) {
            throw new IllegalArgumentException("a route needs a task pattern and a queue");
        }
    }

    public boolean matches(String taskName) {
        if (!pattern.contains("*") && !pattern.contains("?")) {
            return pattern.equals(taskName);
        }
        StringBuilder re = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.matches(re.toString(), taskName);
    }
}
