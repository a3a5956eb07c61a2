package io.celeriac.task;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The keyword name and default value of one parameter of a {@link Task} method, Python's {@code def kw(a, b=2)}.
 * Callers may then leave the parameter out, as Python callers often do: {@code kw.delay(1, c=9)} runs
 * {@code kw(1, 2, 9)}.
 *
 * <pre>{@code
 * @Task(name = "acc.kw")
 * public int kw(int a, @Arg(defaultValue = "2") int b, int c) { return a + b * c; }
 * }</pre>
 *
 * <p>The default is JSON text, converted to the parameter's type exactly as an argument in a message would be:
 * {@code "2"}, {@code "\"text\""}, {@code "null"}, {@code "[1, 2]"}, {@code "{\"k\": 1}"}. It is checked when the
 * task is registered, so a default that does not fit the type fails at start-up, not at the first message. It is
 * converted afresh for every run, so a task may change a list or map it got as a default without the next run
 * seeing that change (unlike a mutable default in Python).
 *
 * <p>A parameter without a default may follow one with a default; callers then pass it by keyword, like a Python
 * keyword-only argument.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface Arg {
    /**
     * Keyword name the parameter binds to; empty = the Java parameter name, which is only known when the code is
     * compiled with {@code javac -parameters}.
     */
    String name() default "";

    /** The value taken when the caller does not pass the parameter, as JSON text; empty = none (required). */
    String defaultValue() default "";
}
