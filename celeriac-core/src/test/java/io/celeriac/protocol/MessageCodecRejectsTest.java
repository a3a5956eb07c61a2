package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the codec refuses, and that the reason says why. */
class MessageCodecRejectsTest {
    private final MessageCodec codec = new MessageCodec();
    private final String good = CeleryVectors.read("send/delay_add_2_3.celery.0.json");

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void pickleIsNeverDeserialized() {
        String pickle = good.replace("application/json", "application/x-python-serialize");
        assertThatThrownBy(() -> codec.decode(pickle)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("pickle").hasMessageContaining("never deserialized");
    }

    @Test
    void yamlIsRefused() {
        String yaml = good.replace("application/json", "application/x-yaml");
        assertThatThrownBy(() -> codec.decode(yaml)).hasMessageContaining("yaml");
    }

    @Test
    void protocolV1IsRefused() {
        String v1 = "{\"body\": \"" + b64("{\"task\": \"vtasks.add\", \"id\": \"1\", \"args\": [1, 2], \"kwargs\": {}}")
                + "\", \"content-type\": \"application/json\", \"headers\": {}, \"properties\": "
                + "{\"body_encoding\": \"base64\", \"delivery_tag\": \"t\"}}";
        assertThatThrownBy(() -> codec.decode(v1)).hasMessageContaining("protocol v1");
    }

    @Test
    void malformedJsonIsRefused() {
        assertThatThrownBy(() -> codec.decode("{\"body\": ")).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> codec.decode("[1, 2]")).hasMessageContaining("not a JSON object");
    }

    @Test
    void badBase64IsRefused() {
        String bad = good.replaceFirst("\"body\": \"[^\"]+\"", "\"body\": \"***not base64***\"");
        assertThatThrownBy(() -> codec.decode(bad)).hasMessageContaining("base64");
    }

    @Test
    void wrongBodyShapeIsRefused() {
        String shape = good.replaceFirst("\"body\": \"[^\"]+\"", "\"body\": \"" + b64("[[1], {}]") + "\"");
        assertThatThrownBy(() -> codec.decode(shape)).hasMessageContaining("[args, kwargs, embed]");
    }

    @Test
    void missingTaskHeaderIsRefused() {
        String noTask = good.replace("\"task\": \"vtasks.add\", ", "");
        assertThatThrownBy(() -> codec.decode(noTask)).hasMessageContaining("'task' header");
    }

    @Test
    void missingIdIsRefused() {
        String noId = good.replaceFirst("\"id\": \"[^\"]+\", ", "");
        assertThatThrownBy(() -> codec.decode(noId)).hasMessageContaining("'id'");
    }
}
