package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bodies must be valid UTF-8, and a message over the size limit is refused before it is parsed. */
class MessageCodecLimitsTest {
    private final MessageCodec codec = new MessageCodec();

    /** A kombu envelope whose base64 body is exactly these bytes. */
    private static String envelope(byte[] body) {
        return "{\"body\": \"" + Base64.getEncoder().encodeToString(body) + "\", \"content-type\": "
                + "\"application/json\", \"content-encoding\": \"utf-8\", \"headers\": {\"lang\": \"py\", \"task\": "
                + "\"t.echo\", \"id\": \"id-1\"}, \"properties\": {\"body_encoding\": \"base64\", \"delivery_tag\": "
                + "\"tag-1\", \"delivery_info\": {\"exchange\": \"\", \"routing_key\": \"celery\"}}}";
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    private static byte[] body(byte[] argument) {
        byte[] head = "[[\"".getBytes(StandardCharsets.US_ASCII);
        byte[] tail = "\"], {}, {}]".getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + argument.length + tail.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(argument, 0, out, head.length, argument.length);
        System.arraycopy(tail, 0, out, head.length + argument.length, tail.length);
        return out;
    }

    @Test
    void invalidUtf8IsRefusedWithTheOffsetOfTheBadSequence() {
        // 'a', then C3 28: a two-byte lead followed by '(' instead of a continuation byte. The body starts with the
        // three bytes [[" so the bad sequence is at offset 4.
        String bad = envelope(body(bytes('a', 0xC3, 0x28, 'b')));
        assertThatThrownBy(() -> codec.decode(bad)).isInstanceOfSatisfying(MessageRejectedException.class,
                e -> assertThat(e.reason()).contains("not valid UTF-8").contains("byte offset 4"));
        // A lone continuation byte, an overlong encoding of '/', a surrogate half, and a truncated sequence at the end.
        for (byte[] arg : List.of(bytes(0x80), bytes(0xC0, 0xAF), bytes(0xED, 0xA0, 0x80), bytes('x', 0xE2, 0x82))) {
            assertThatThrownBy(() -> codec.decode(envelope(body(arg)))).hasMessageContaining("not valid UTF-8");
        }
    }

    @Test
    void aGenuineReplacementCharacterAndOtherUnicodeStayAsSent() {
        String text = "\uFFFD caf\u00e9 \u20ac \uD83D\uDE00";
        TaskMessage m = codec.decode(envelope(body(text.getBytes(StandardCharsets.UTF_8))));
        assertThat(m.args()).containsExactly(text);
    }

    @Test
    void aMessageOverTheLimitIsRefusedBeforeParsingWithItsSize() {
        MessageCodec small = new MessageCodec(2048);
        String big = envelope(body("y".repeat(3000).getBytes(StandardCharsets.US_ASCII)));
        assertThatThrownBy(() -> small.decode(big)).isInstanceOfSatisfying(MessageRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo("refused: message of " + big.length() + " bytes exceeds the "
                        + "limit of 2048 bytes (celeriac_max_message_bytes); it was not parsed"));
        // Not even malformed JSON is looked at: the size alone decides.
        assertThatThrownBy(() -> small.decode("{" + "x".repeat(5000))).hasMessageContaining("exceeds the limit");
        assertThat(small.decode(envelope(body("y".repeat(100).getBytes(StandardCharsets.US_ASCII)))).id())
                .isEqualTo("id-1");
    }

    @Test
    void theLimitCountsUtf8BytesNotCharacters() {
        // 700 euro signs are 700 characters but 2100 bytes.
        String euros = "\u20ac".repeat(700);
        assertThat(MessageCodec.utf8Length(euros, 2048)).isEqualTo(2100);
        assertThat(MessageCodec.utf8Length("\uD83D\uDE00".repeat(600), 2048)).isEqualTo(2400);
        assertThat(MessageCodec.utf8Length("ascii", 2048)).isEqualTo(5);
    }

    @Test
    void jacksonsStringLimitFollowsTheSetting() {
        String json = "[\"" + "z".repeat(5000) + "\"]";
        assertThatThrownBy(() -> new MessageCodec(2048).readJson(json)).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("String value length");
        assertThat(new MessageCodec(8192).readJson(json)).isEqualTo(List.of("z".repeat(5000)));
    }

    @Test
    void aMessageJustUnderTheDefaultLimitIsAcceptedThoughItsBodyExceedsJacksonsOwnDefault() {
        // Jackson refuses strings over 20,000,000 characters by default; this envelope's base64 body is longer, and
        // the whole message is still under the 20 MiB default limit.
        String arg = "w".repeat(15_650_000);
        String env = envelope(body(arg.getBytes(StandardCharsets.US_ASCII)));
        assertThat(env.length()).isBetween(20_000_001, (int) MessageCodec.DEFAULT_MAX_MESSAGE_BYTES);
        TaskMessage m = codec.decode(env);
        assertThat((String) m.args().get(0)).hasSize(arg.length());
    }

    @Test
    void withMaxMessageBytesKeepsEverythingElse() {
        MessageCodec big = codec.withMaxMessageBytes(64L * 1024 * 1024);
        assertThat(big.maxMessageBytes()).isEqualTo(64L * 1024 * 1024);
        assertThat(codec.withMaxMessageBytes(codec.maxMessageBytes())).isSameAs(codec);
        List<Object> args = new ArrayList<>(List.of(1, "two", Map.of("three", 3)));
        TaskMessage m = TaskMessage.builder("t.echo", "id-2").args(args).routingKey("celery").build();
        assertThat(big.decode(codec.encode(m)).args()).isEqualTo(args);
    }
}
