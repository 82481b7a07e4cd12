package dev.tandem.gateway;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.tandem.contracts.Contracts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every node serves the machine-readable contracts at {@code /contracts/}, without a token and
 * outside development mode too: byte for byte the api-contract resources, as
 * {@code application/yaml}, parseable YAML of the right kind; other names are 404.
 */
class ContractsServedTest {

    @Test
    void developmentNodeServesBothContractsAsYaml() throws Exception {
        try (TestGateway node = TestGateway.start()) {
            assertServed(node);
        }
    }

    @Test
    void productionNodeServesBothContractsWithoutAToken() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.dev-mode", "false",
                "tandem.auth.hs256-secret", "a-production-secret-of-at-least-32-bytes!"))) {
            assertServed(node);
        }
    }

    @Test
    void unknownContractNamesAreNotFound() throws Exception {
        try (TestGateway node = TestGateway.start()) {
            assertEquals(404, node.get("/contracts/application.yaml").statusCode());
            assertEquals(404, node.get("/contracts/..%2Fapplication.yaml").statusCode());
            assertEquals(404, node.get("/contracts/").statusCode());
        }
    }

    private static void assertServed(TestGateway node) throws Exception {
        YAMLMapper yaml = new YAMLMapper();
        for (String name : new String[] {"tandem-asyncapi.yaml", "tandem-openapi.yaml"}) {
            HttpResponse<String> res = node.get("/contracts/" + name);
            assertEquals(200, res.statusCode(), name + ": " + res.body());
            assertTrue(res.headers().firstValue("Content-Type").orElse("").startsWith("application/yaml"),
                    name + " content type: " + res.headers().firstValue("Content-Type"));
            byte[] expected;
            try (InputStream in = Contracts.class.getClassLoader().getResourceAsStream("contracts/" + name)) {
                expected = in.readAllBytes();
            }
            assertArrayEquals(expected, res.body().getBytes(java.nio.charset.StandardCharsets.UTF_8), name);
            JsonNode doc = yaml.readTree(res.body());
            assertTrue(doc.has(name.contains("async") ? "asyncapi" : "openapi"), name + " is not the right kind");
        }
    }
}
