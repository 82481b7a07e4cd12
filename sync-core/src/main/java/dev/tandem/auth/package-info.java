/**
 * Principals and tenants: who a connection or API call acts for, and the port that
 * establishes it from a token.
 */
package dev.tandem.auth;
