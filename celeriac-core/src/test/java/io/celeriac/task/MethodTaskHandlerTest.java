package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.fixtures.TestTasks.Point;
import io.celeriac.fixtures.defaults.DefaultArgTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a message's args and kwargs bind to the parameters of a {@link Task} method, defaults included. */
class MethodTaskHandlerTest {
    private final TaskRegistry registry = new TaskRegistry();

    MethodTaskHandlerTest() {
        registry.register(new DefaultArgTasks());
    }

    private Object run(String task, List<Object> args, Map<String, Object> kwargs) throws Exception {
        return registry.get(task).handler().run(null, args, kwargs);
    }

    private static Map<String, Object> kw(Object... pairs) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    @Test
    void positionalAndKeywordArgumentsMixAsInPython() throws Exception {
        // kw(a, b=2, c) computes a*100 + b*10 + c.
        assertThat(run("acc.kw", List.of(1), kw("c", 9))).as("kw(1, c=9)").isEqualTo(129);
        assertThat(run("acc.kw", List.of(), kw("a", 1, "c", 9))).as("kw(a=1, c=9)").isEqualTo(129);
        assertThat(run("acc.kw", List.of(1, 3, 9), kw())).as("kw(1, 3, 9)").isEqualTo(139);
        assertThat(run("acc.kw", List.of(1, 3), kw("c", 9))).as("kw(1, 3, c=9)").isEqualTo(139);
        assertThat(run("acc.kw", List.of(1), kw("c", 9, "b", 5))).as("kw(1, c=9, b=5)").isEqualTo(159);
    }

    @Test
    void defaultsOfSeveralTypes() throws Exception {
        assertThat(run("acc.greet", List.of("Ann"), kw())).isEqualTo("Hello, Ann");
        assertThat(run("acc.greet", List.of("Ann"), kw("greeting", "Hi"))).isEqualTo("Hi, Ann");
        assertThat(run("acc.append", List.of(3), kw())).isEqualTo(List.of(1, 2, 3));
        assertThat(run("acc.lookup", List.of("m"), kw())).isEqualTo(2);
        assertThat(run("acc.lookup", List.of("m"), kw("table", Map.of("m", 7)))).isEqualTo(7);
        assertThat(run("acc.shift", List.of(), kw("by", 10))).isEqualTo(new Point(11, 12));
        assertThat(run("acc.tag", List.of("x"), kw())).isEqualTo("x");
        assertThat(run("acc.tag", List.of("x", "!"), kw())).isEqualTo("x!");
    }

    @Test
    void aDefaultIsFreshForEveryRun() throws Exception {
        // The task appends to its list; unlike a mutable default in Python, the next run does not see that.
        assertThat(run("acc.append", List.of(3), kw())).isEqualTo(List.of(1, 2, 3));
        assertThat(run("acc.append", List.of(4), kw())).isEqualTo(List.of(1, 2, 4));
    }

    @Test
    void argNameGivesTheKeywordCallersUse() throws Exception {
        assertThat(registry.get("acc.user").parameterNames()).containsExactly("user_id", "full");
        assertThat(run("acc.user", List.of(), kw("user_id", 7))).isEqualTo("7");
        assertThat(run("acc.user", List.of(7), kw("full", true))).isEqualTo("7 (full)");
        assertThatThrownBy(() -> run("acc.user", List.of(), kw("userId", 7)))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageContaining("missing argument 1 'user_id'");
    }

    @Test
    void optionalParametersAreEmptyWhenLeftOutOrNull() throws Exception {
        // page(query, Optional<Integer> limit, @Arg(defaultValue = "20") Optional<Integer> size)
        assertThat(run("acc.page", List.of("q"), kw())).isEqualTo("q:all:20");
        assertThat(run("acc.page", List.of("q", 5), kw())).isEqualTo("q:5:20");
        assertThat(run("acc.page", List.of("q"), kw("size", 3, "limit", 7))).isEqualTo("q:7:3");
        assertThat(run("acc.page", Arrays.asList("q", null, null), kw())).isEqualTo("q:all:-");
        assertThatThrownBy(() -> run("acc.page", List.of("q", "many"), kw()))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageContaining("argument 'limit' cannot be read as java.lang.Integer");
    }

    @Test
    void nullableParametersAreNullWhenLeftOut() throws Exception {
        assertThat(run("acc.note", List.of("x"), kw())).isEqualTo("x by null at null");
        assertThat(run("acc.note", List.of("x"), kw("priority", 2))).isEqualTo("x by null at 2");
        assertThat(run("acc.note", List.of("x", "me", 1), kw())).isEqualTo("x by me at 1");
    }

    @Test
    void aNullableDeclaredOnTheParameterCountsToo() throws Exception {
        registry.register(new DeclarationNullable());
        assertThat(run("bad.decl_nullable", List.of(), kw())).isEqualTo("null");
    }

    @Test
    void aMissingArgumentWithoutDefaultStillFails() {
        assertThatThrownBy(() -> run("acc.kw", List.of(1), kw()))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessage("io.celeriac.fixtures.defaults.DefaultArgTasks#kw(int, int, int) is missing argument 3 "
                        + "'c': 1 positional and 0 keyword argument(s) given");
        assertThatThrownBy(() -> run("acc.greet", List.of(), kw("greeting", "Hi")))
                .isInstanceOf(ArgumentMismatchException.class).hasMessageContaining("missing argument 1 'who'");
    }

    @Test
    void tooManyDuplicateAndUnknownArgumentsFailAsBefore() {
        assertThatThrownBy(() -> run("acc.kw", List.of(1, 2, 3, 4), kw()))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageEndingWith("takes 3 argument(s) but 4 positional were given");
        assertThatThrownBy(() -> run("acc.kw", List.of(1, 2), kw("b", 5, "c", 9)))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageEndingWith("got multiple values for argument 'b'");
        assertThatThrownBy(() -> run("acc.kw", List.of(1), kw("c", 9, "d", 4)))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageEndingWith("got unexpected keyword argument(s) [d]");
        assertThatThrownBy(() -> run("acc.kw", Arrays.asList(1, null), kw("c", 9)))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageEndingWith("argument 'b' is null but the parameter is a int");
        assertThatThrownBy(() -> run("acc.kw", List.of(1, "two"), kw("c", 9)))
                .isInstanceOf(ArgumentMismatchException.class)
                .hasMessageContaining("argument 'b' cannot be read as int");
    }

    @Test
    void aDefaultThatDoesNotFitTheTypeFailsRegistration() {
        assertThatThrownBy(() -> registry.register(new WrongTypeDefault()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageStartingWith(WrongTypeDefault.class.getName() + "#count(int): the default of parameter "
                        + "'n', @Arg(defaultValue = \"\\\"two\\\"\"), cannot be read as int");
        assertThat(registry.find("bad.count")).isEmpty();

        assertThatThrownBy(() -> registry.register(new NullDefaultForPrimitive()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("the default of parameter 'n', @Arg(defaultValue = \"null\"), cannot be read "
                        + "as int: a primitive cannot be null");
        assertThatThrownBy(() -> registry.register(new ObjectDefaultForList()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("cannot be read as java.util.List<java.lang.Integer>");
    }

    @Test
    void aDefaultThatIsNotJsonFailsRegistration() {
        assertThatThrownBy(() -> registry.register(new UnquotedStringDefault()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("the default of parameter 's', @Arg(defaultValue = \"text\"), is not one JSON "
                        + "value")
                .hasMessageContaining("write a string with its quotes");
        assertThatThrownBy(() -> registry.register(new TwoValuesDefault()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("@Arg(defaultValue = \"1, 2\"), is not one JSON value (it holds more than one");
    }

    @Test
    void otherMisuseOfArgFailsRegistration() {
        assertThatThrownBy(() -> registry.register(new NullablePrimitive()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("parameter 'n' is @Nullable but a primitive int, which cannot be null; make it "
                        + "Integer");
        assertThatThrownBy(() -> registry.register(new SameKeywordTwice()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("two parameters take the keyword 'x'");
        assertThatThrownBy(() -> registry.register(new ArgOnContext()))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("the TaskContext parameter is not an argument and takes no @Arg");
    }

    @Test
    void scanningAPackageReadsTheDefaults() throws Exception {
        // The path of `celeriac worker -A <package>`.
        TaskRegistry scanned = new TaskRegistry();
        scanned.scan("io.celeriac.fixtures.defaults");
        assertThat(scanned.get("acc.kw").handler().run(null, List.of(1), kw("c", 9))).isEqualTo(129);
    }

    @Test
    void argNameBindsKeywordsOfCodeCompiledWithoutParameterNames(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("plain/PlainTasks.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, """
                package plain;

                import io.celeriac.task.Arg;
                import io.celeriac.task.Task;

                public class PlainTasks {
                    @Task(name = "plain.kw")
                    public int kw(int c, @Arg(name = "a") int a, @Arg(name = "b", defaultValue = "2") int b) {
                        return a * 100 + b * 10 + c;
                    }
                }
                """);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        String core = Path.of(Task.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        // No -parameters: the class file keeps no parameter names.
        assertThat(javac.run(null, null, null, "-classpath", core, "-d", dir.toString(), source.toString()))
                .isZero();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
                getClass().getClassLoader())) {
            TaskRegistry plain = new TaskRegistry();
            plain.registerClass(loader.loadClass("plain.PlainTasks"));
            TaskDefinition def = plain.get("plain.kw");

            assertThat(def.parameterNames()).containsExactly(null, "a", "b");
            assertThat(def.handler().run(null, List.of(9), kw("a", 1))).isEqualTo(129);
            assertThat(def.handler().run(null, List.of(9), kw("b", 3, "a", 1))).isEqualTo(139);
            assertThatThrownBy(() -> def.handler().run(null, List.of(), kw("a", 1, "c", 9)))
                    .isInstanceOf(ArgumentMismatchException.class)
                    .hasMessageContaining("is missing argument 1 (to pass it by keyword, name it with "
                            + "@Arg(name = ...) or compile with -parameters)");
        }
    }

    // Tasks that must not register. Kept here, not in a fixtures package, so package scans never meet them.

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface Nullable {
    }

    static class DeclarationNullable {
        @Task(name = "bad.decl_nullable")
        public String run(@Nullable String s) {
            return String.valueOf(s);
        }
    }

    static class WrongTypeDefault {
        @Task(name = "bad.count")
        public int count(@Arg(defaultValue = "\"two\"") int n) {
            return n;
        }
    }

    static class NullDefaultForPrimitive {
        @Task(name = "bad.null_int")
        public int count(@Arg(defaultValue = "null") int n) {
            return n;
        }
    }

    static class ObjectDefaultForList {
        @Task(name = "bad.list")
        public int size(@Arg(defaultValue = "{\"k\": 1}") List<Integer> xs) {
            return xs.size();
        }
    }

    static class UnquotedStringDefault {
        @Task(name = "bad.unquoted")
        public String echo(@Arg(defaultValue = "text") String s) {
            return s;
        }
    }

    static class TwoValuesDefault {
        @Task(name = "bad.two_values")
        public int size(@Arg(defaultValue = "1, 2") List<Integer> xs) {
            return xs.size();
        }
    }

    static class NullablePrimitive {
        @Task(name = "bad.nullable_int")
        public int count(@io.celeriac.fixtures.defaults.Nullable int n) {
            return n;
        }
    }

    static class SameKeywordTwice {
        @Task(name = "bad.same_keyword")
        public int add(@Arg(name = "x") int a, @Arg(name = "x") int b) {
            return a + b;
        }
    }

    static class ArgOnContext {
        @Task(name = "bad.context")
        public int add(@Arg(name = "ctx") TaskContext ctx, int a) {
            return a;
        }
    }
}
