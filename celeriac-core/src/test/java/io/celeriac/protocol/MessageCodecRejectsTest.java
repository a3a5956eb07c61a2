package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the codec refuses, and that the reason says why: a message that is not a JSON protocol v2 task message
 * ({@link MessageCodec#decode}), and text that is not a kombu envelope ({@link KombuEnvelope#decode}).
 */
class MessageCodecRejectsTest {
    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);
    private final String good = CeleryVectors.read("send/delay_add_2_3.celery.0.json");

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The envelope read as kombu reads it, then the task message in it. */
    private TaskMessage decode(String envelope) {
        return codec.decode(kombu.decode(envelope));
    }

    @Test
    void theGoodVectorDecodes() {
        assertThat(decode(good).task()).isEqualTo("vtasks.add");
    }

    @Test
    void pickleIsNeverDeserialized() {
        String pickle = good.replace("application/json", "application/x-python-serialize");
        assertThatThrownBy(() -> decode(pickle)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("pickle").hasMessageContaining("never deserialized");
    }

    @Test
    void yamlIsRefused() {
        String yaml = good.replace("application/json", "application/x-yaml");
        assertThatThrownBy(() -> decode(yaml)).hasMessageContaining("yaml");
    }

    @Test
    void protocolV1IsRefused() {
        String v1 = "{\"body\": \"" + b64("{\"task\": \"vtasks.add\", \"id\": \"1\", \"args\": [1, 2], \"kwargs\": {}}")
                + "\", \"content-type\": \"application/json\", \"headers\": {}, \"properties\": "
                + "{\"body_encoding\": \"base64\", \"delivery_tag\": \"t\"}}";
        assertThatThrownBy(() -> decode(v1)).hasMessageContaining("protocol v1");
    }

    @Test
    void malformedJsonIsRefused() {
        // An envelope that is not JSON, or not a JSON object.
        assertThatThrownBy(() -> kombu.decode("{\"body\": ")).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> kombu.decode("[1, 2]")).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("not a JSON object");
        // A task message whose body is not JSON.
        BrokerMessage notJson = BrokerMessage.json("{\"body\": ", Map.of("task", "vtasks.add", "id", "1"), Map.of());
        assertThatThrownBy(() -> codec.decode(notJson)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("malformed JSON");
    }

    @Test
    void badBase64IsRefused() {
        String bad = good.replaceFirst("\"body\": \"[^\"]+\"", "\"body\": \"***not base64***\"");
        assertThatThrownBy(() -> kombu.decode(bad)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("not valid base64");
    }

    @Test
    void anEnvelopeWithoutABodyIsRefused() {
        String noBody = good.replaceFirst("\"body\": \"[^\"]+\", ", "");
        assertThatThrownBy(() -> kombu.decode(noBody)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("envelope has no body");
    }

    @Test
    void anUnknownBodyEncodingIsRefused() {
        String gzip = good.replace("\"body_encoding\": \"base64\"", "\"body_encoding\": \"gzip\"");
        assertThatThrownBy(() -> kombu.decode(gzip)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("unsupported body_encoding 'gzip'");
    }

    @Test
    void wrongBodyShapeIsRefused() {
        String shape = good.replaceFirst("\"body\": \"[^\"]+\"", "\"body\": \"" + b64("[[1], {}]") + "\"");
        assertThatThrownBy(() -> decode(shape)).hasMessageContaining("[args, kwargs, embed]");
    }

    @Test
    void missingTaskHeaderIsRefused() {
        String noTask = good.replace("\"task\": \"vtasks.add\", ", "");
        assertThatThrownBy(() -> decode(noTask)).hasMessageContaining("'task' header");
    }

    @Test
    void missingIdIsRefused() {
        String noId = good.replaceFirst("\"id\": \"[^\"]+\", ", "");
        assertThatThrownBy(() -> decode(noId)).hasMessageContaining("'id'");
    }
}
