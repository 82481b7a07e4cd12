package dev.tandem.push.fcm;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.Objects;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tandem.push.support.EcKeys;

/**
 * A Google service account, as its JSON key file describes it ({@code "type": "service_account"}).
 *
 * @param projectId    the project it belongs to ({@code project_id})
 * @param clientEmail  its email, the assertion's issuer ({@code client_email})
 * @param privateKeyId the id of its key ({@code private_key_id}), sent as the assertion's {@code kid}
 * @param privateKey   its RSA key ({@code private_key}, PKCS#8 PEM)
 * @param tokenUri     where assertions are exchanged for access tokens ({@code token_uri})
 */
public record ServiceAccount(String projectId, String clientEmail, String privateKeyId, PrivateKey privateKey,
                             URI tokenUri) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PROJECT = Pattern.compile("[a-z][a-z0-9-]{4,61}[a-z0-9]");

    /** Checks the fields. */
    public ServiceAccount {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(privateKeyId, "privateKeyId");
        if (projectId == null || !PROJECT.matcher(projectId).matches()) {
            throw new IllegalArgumentException("a Google project id is 6-63 characters of a-z 0-9 -");
        }
        if (clientEmail == null || !clientEmail.contains("@")) {
            throw new IllegalArgumentException("the service account's client_email is missing");
        }
        boolean loopback = tokenUri != null && ("localhost".equals(tokenUri.getHost()) || "127.0.0.1".equals(tokenUri.getHost()));
        if (tokenUri == null || tokenUri.getHost() == null
                || !("https".equals(tokenUri.getScheme()) || (loopback && "http".equals(tokenUri.getScheme())))) {
            throw new IllegalArgumentException("the service account's token_uri must be an https URL");
        }
    }

    /**
     * Reads a service account key file.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when it is not a service account key (the message names the
     *                                  field, never its value)
     */
    public static ServiceAccount load(Path file) throws IOException {
        JsonNode json;
        try {
            json = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("the FCM service account file " + file + " is not JSON");
        }
        if (json == null || !"service_account".equals(json.path("type").asText())) {
            throw new IllegalArgumentException("the FCM service account file " + file + " is not a service account key "
                    + "(\"type\": \"service_account\")");
        }
        PrivateKey key = EcKeys.pkcs8Pem(json.path("private_key").asText(), "RSA",
                "the private_key of the FCM service account file " + file);
        return new ServiceAccount(json.path("project_id").asText(), json.path("client_email").asText(),
                json.path("private_key_id").asText(), key,
                URI.create(json.path("token_uri").asText("https://oauth2.googleapis.com/token")));
    }

    /** The same account for another project (a configured project id that differs from the file's). */
    public ServiceAccount withProject(String project) {
        return new ServiceAccount(project, clientEmail, privateKeyId, privateKey, tokenUri);
    }

    @Override
    public String toString() {
        return "ServiceAccount[project=" + projectId + ", client=" + clientEmail + "]";
    }
}
