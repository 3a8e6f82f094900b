import { defineErrors } from '../core/index.ts';

/**
 * Error catalogue of the DNS capability (zone validation, the authoritative server's sockets and
 * the small query client). Wire-level problems of incoming queries are never errors: they become
 * FORMERR / REFUSED / NOTIMP / SERVFAIL responses (RFC 1035 §4.1.1).
 */
export const DnsErrors = defineErrors({
  INVALID_ZONE: {
    code: 'ERR_DNS_INVALID_ZONE',
    message: 'the zone is not valid (names, record data, TTLs or apex NS records)',
  },
  BIND_FAILED: {
    code: 'ERR_DNS_BIND_FAILED',
    message: 'the DNS server could not bind one of its listen addresses (in use or not permitted)',
  },
  NOT_STARTED: {
    code: 'ERR_DNS_NOT_STARTED',
    message: 'the DNS server is not listening',
  },
  BAD_QUERY: {
    code: 'ERR_DNS_BAD_QUERY',
    message: 'the DNS query cannot be built (unknown record type or invalid name)',
  },
  QUERY_TIMEOUT: {
    code: 'ERR_DNS_QUERY_TIMEOUT',
    message: 'the DNS server did not answer in time',
    retryable: true,
  },
  QUERY_NETWORK: {
    code: 'ERR_DNS_QUERY_NETWORK',
    message: 'the DNS server could not be reached',
    retryable: true,
  },
  BAD_TSIG_KEY: {
    code: 'ERR_DNS_BAD_TSIG_KEY',
    message: 'a TSIG key is not name:base64secret with a secret of at least 16 bytes',
  },
  BAD_TRANSFER_ACL: {
    code: 'ERR_DNS_BAD_TRANSFER_ACL',
    message: 'a zone transfer allow-list entry is not an IP address or CIDR prefix',
  },
  NOTIFY_UNACKNOWLEDGED: {
    code: 'ERR_DNS_NOTIFY_UNACKNOWLEDGED',
    message: 'a secondary did not acknowledge a NOTIFY (no answer, an error rcode or a bad TSIG)',
    retryable: true,
  },
  BAD_RESPONSE: {
    code: 'ERR_DNS_BAD_RESPONSE',
    message: 'the DNS server sent a response that cannot be decoded or does not match the query',
    retryable: true,
  },
});
