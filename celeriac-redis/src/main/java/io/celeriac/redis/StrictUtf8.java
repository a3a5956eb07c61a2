package io.celeriac.redis;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * UTF-8 decoding that refuses what is not UTF-8 instead of replacing it. Lettuce's String codec (like
 * {@code new String(bytes, UTF_8)}) turns every malformed sequence into U+FFFD without a word, so a message with a
 * stray byte would run with altered arguments.
 */
final class StrictUtf8 {
    private StrictUtf8() {
    }

    /** The text, or null if {@code bytes} is not well-formed UTF-8 (see {@link #invalidOffset}). */
    static @Nullable String decode(byte[] bytes) {
        // Fast path: the JDK's lenient decoder is intrinsified; a result without U+FFFD proves every sequence was
        // well-formed (it replaces each malformed one, encoded surrogates and overlong forms included, with U+FFFD).
        String s = new String(bytes, StandardCharsets.UTF_8);
        if (s.indexOf('\uFFFD') < 0 || invalidOffset(bytes) < 0) {
            return s;
        }
        return null;
    }

    /** The offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1 if there is none. */
    static int invalidOffset(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(Math.max(16, bytes.length));
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            return in.position();
        }
        r = decoder.flush(out);
        return r.isError() ? in.position() : -1;
    }
}
