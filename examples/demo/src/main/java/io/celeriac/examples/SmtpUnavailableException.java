package io.celeriac.examples;

/** The (simulated) mail server refused the connection; worth retrying. */
public class SmtpUnavailableException extends RuntimeException {
    public SmtpUnavailableException(String message) {
        super(message);
    }
}
