package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bodies must be valid UTF-8, and a message over the size limit is refused before it is parsed. */
class MessageCodecLimitsTest {
    private final MessageCodec codec = new MessageCodec();

    /** A JSON task message whose body is exactly these bytes. */
    private static BrokerMessage message(byte[] body) {
        return new BrokerMessage(body, "application/json", "utf-8",
                Map.of("lang", "py", "task", "t.echo", "id", "id-1"),
                Map.of("delivery_tag", "tag-1", "delivery_info", Map.of("exchange", "", "routing_key", "celery")));
    }

    /** A kombu envelope whose base64 body is exactly these bytes. */
    private String envelope(byte[] body) {
        return new KombuEnvelope(codec).encode(message(body));
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
        BrokerMessage bad = message(body(bytes('a', 0xC3, 0x28, 'b')));
        assertThatThrownBy(() -> codec.decode(bad)).isInstanceOfSatisfying(MessageRejectedException.class,
                e -> assertThat(e.reason()).contains("not valid UTF-8").contains("byte offset 4"));
        // A lone continuation byte, an overlong encoding of '/', a surrogate half, and a truncated sequence at the end.
        for (byte[] arg : List.of(bytes(0x80), bytes(0xC0, 0xAF), bytes(0xED, 0xA0, 0x80), bytes('x', 0xE2, 0x82))) {
            assertThatThrownBy(() -> codec.decode(message(body(arg)))).hasMessageContaining("not valid UTF-8");
        }
    }

    @Test
    void aGenuineReplacementCharacterAndOtherUnicodeStayAsSent() {
        String text = "\uFFFD caf\u00e9 \u20ac \uD83D\uDE00";
        TaskMessage m = codec.decode(message(body(text.getBytes(StandardCharsets.UTF_8))));
        assertThat(m.args()).containsExactly(text);
    }

    @Test
    void aMessageOverTheLimitIsRefusedBeforeParsingWithItsSize() {
        MessageCodec small = new MessageCodec(2048);
        BrokerMessage big = message(body("y".repeat(3000).getBytes(StandardCharsets.US_ASCII)));
        assertThatThrownBy(() -> small.decode(big)).isInstanceOfSatisfying(MessageRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo("refused: message of " + big.body().length + " bytes exceeds "
                        + "the limit of 2048 bytes (celeriac_max_message_bytes); it was not parsed"));
        // Not even malformed JSON is looked at: the size alone decides.
        BrokerMessage malformed = new BrokerMessage(("{" + "x".repeat(5000)).getBytes(StandardCharsets.US_ASCII),
                "application/json", "utf-8", Map.of("task", "t.echo", "id", "id-1"), Map.of());
        assertThatThrownBy(() -> small.decode(malformed)).hasMessageContaining("exceeds the limit");
        assertThat(small.decode(message(body("y".repeat(100).getBytes(StandardCharsets.US_ASCII)))).id())
                .isEqualTo("id-1");
    }

    @Test
    void theLimitCountsUtf8BytesNotCharacters() {
        MessageCodec small = new MessageCodec(2048);
        // 700 euro signs are 700 characters but 2100 bytes; 600 emoji are 1200 chars but 2400 bytes.
        for (String arg : List.of("\u20ac".repeat(700), "\uD83D\uDE00".repeat(600))) {
            BrokerMessage m = message(body(arg.getBytes(StandardCharsets.UTF_8)));
            assertThat(m.bodyText().length()).isLessThan(2048);
            assertThatThrownBy(() -> small.decode(m)).isInstanceOfSatisfying(MessageRejectedException.class,
                    e -> assertThat(e.reason()).startsWith("refused: message of " + m.body().length + " bytes ")
                            .contains("exceeds the limit of 2048 bytes"));
        }
        // 2000 ASCII characters are 2000 bytes, with the body's 13 bytes of JSON around them: within the limit.
        assertThat(small.decode(message(body("a".repeat(2000).getBytes(StandardCharsets.US_ASCII)))).args())
                .containsExactly("a".repeat(2000));
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
        TaskMessage m = codec.decode(new KombuEnvelope(codec).decode(env));
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
