package io.celeriac.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The real Celery 5.2.6 captures under src/test/resources/celery-vectors (see its README). */
public final class CeleryVectors {
    private CeleryVectors() {
    }

    public static String read(String path) {
        try (InputStream in = CeleryVectors.class.getResourceAsStream("/celery-vectors/" + path)) {
            if (in == null) {
                throw new IllegalArgumentException("no vector " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every queued task message of send/ (not the *.keys.json listings). */
    public static List<String> sendMessages() {
        try {
            Path dir = Path.of(CeleryVectors.class.getResource("/celery-vectors/send").toURI());
            try (Stream<Path> files = Files.list(dir)) {
                return files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".keys.json"))
                        .sorted().map(n -> "send/" + n).toList();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
