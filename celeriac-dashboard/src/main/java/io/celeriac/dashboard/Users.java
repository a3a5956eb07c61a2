package io.celeriac.dashboard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** The dashboard's users: name, password (kept only as a salted SHA-256) and role. */
final class Users {
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Account(byte[] salt, byte[] hash, Role role) {
    }

    private final Map<String, Account> accounts = new LinkedHashMap<>();
    private static final byte[] UNKNOWN_SALT = new byte[16];

    void add(@Nullable String name, @Nullable String password, Role role) {
        if (name == null || name.isBlank() || name.contains(":")) {
            throw new IllegalArgumentException("user name must be non-empty and have no ':'");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("user " + name + " needs a password");
        }
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        accounts.put(name, new Account(salt, hash(salt, password), role));
    }

    boolean hasAdmin() {
        return accounts.values().stream().anyMatch(a -> a.role == Role.ADMIN);
    }

    /** The user's role if the password is right; compares in constant time. */
    Optional<Role> check(@Nullable String name, @Nullable String password) {
        Account a = name == null ? null : accounts.get(name);
        if (a == null || password == null) {
            hash(UNKNOWN_SALT, password == null ? "" : password); // the same work as for a known user
            return Optional.empty();
        }
        return MessageDigest.isEqual(a.hash, hash(a.salt, password)) ? Optional.of(a.role) : Optional.empty();
    }

    static String randomToken(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static byte[] hash(byte[] salt, String password) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(salt);
            return md.digest(password.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
