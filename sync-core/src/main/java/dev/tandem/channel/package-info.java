/**
 * Channel names, their namespaces and rules, and their scoping to a tenant.
 */
package dev.tandem.channel;
