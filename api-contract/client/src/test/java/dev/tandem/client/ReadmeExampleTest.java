package dev.tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The module README's Java examples compile against the client as it is. */
class ReadmeExampleTest {
    private static final Pattern BLOCK = Pattern.compile("^```java\\n(.*?)^```$", Pattern.MULTILINE | Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("^public (?:final )?class (\\w+)", Pattern.MULTILINE);

    @Test
    void everyJavaBlockOfTheReadmeCompilesAgainstTheClient(@TempDir Path dir) throws IOException {
        String readme = Files.readString(Path.of("../README.md"));
        List<String> sources = new ArrayList<>();
        Matcher m = BLOCK.matcher(readme);
        while (m.find()) {
            String code = m.group(1);
            Matcher c = CLASS.matcher(code);
            assertTrue(c.find(), "every java block is a whole compilation unit with a public class:\n" + code);
            Path file = dir.resolve(c.group(1) + ".java");
            Files.writeString(file, code);
            sources.add(file.toString());
        }
        assertFalse(sources.isEmpty(), "the README has Java examples");
        assertTrue(readme.contains(".subscribe(") && readme.contains(".onEvent("), "the example subscribes and listens to events");

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK runs the tests");
        // the client's classes and Jackson, as an application depending on the artifact sees them
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> args = new ArrayList<>(List.of("--release", "21", "-Xlint:all", "-Werror",
                "-classpath", classpath, "-d", dir.resolve("classes").toString()));
        args.addAll(sources);
        StringWriter out = new StringWriter();
        int rc = javac.run(null, null, new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
            }
        }, true), args.toArray(String[]::new));
        assertEquals(0, rc, "javac failed:\n" + out);
    }
}
