// TLS for the links between the two colo-graph hosts (issue #18), with
// GnuTLS and QEMU's meaning of things, so that a colo-graph endpoint and a
// QEMU chardev with `tls-creds` speak to each other (QEMU 7.2:
// crypto/tlscredsx509.c, crypto/tlssession.c, chardev/char-socket.c):
//
// * Credentials come from a directory laid out as for `-object
//   tls-creds-x509,dir=...`: ca-cert.pem always; a server adds
//   server-cert.pem and server-key.pem (both required), a client
//   client-cert.pem and client-key.pem (optional: without them it has no
//   certificate to show, and a verifying server refuses it). ca-crl.pem is
//   loaded when present.
// * verify_peer (QEMU's verify-peer, default on): the peer's certificate
//   must chain to ca-cert.pem and be within its validity period; a server
//   requests a client certificate and refuses a client without one, so both
//   ends are authenticated. A client also checks the server's certificate
//   against a host name (QEMU uses the host of the chardev's address).
// * The priority string defaults to "NORMAL", QEMU's default
//   (CONFIG_TLS_PRIORITY).
// * The handshake starts right after connect; the chardev records then flow
//   inside TLS records, nothing else changes on the wire.
//
// TlsSession runs over a non-blocking socket: handshake(), recv() and send()
// never block, and say which way to wait. One thread may send while another
// receives (GnuTLS allows it: the colo-graph data path writes from the
// graph's threads and reads on the I/O thread), but never two senders or two
// receivers at once.
#pragma once

#include "nodes/io/socket_address.hh"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

namespace colo {

struct TlsConfig {
    std::string creds_dir;           // empty: no TLS (plain TCP or unix socket)
    bool verify_peer = true;         // QEMU's verify-peer
    std::string priority = "NORMAL"; // a GnuTLS priority string, as QEMU's tls-creds priority=
    std::string hostname;            // client: the name the server's certificate must carry; empty: none
    std::chrono::milliseconds handshake_timeout{5000}; // a peer that does not finish the handshake is dropped

    bool enabled() const { return !creds_dir.empty(); }
};

// The file names of QEMU's x509 credentials directory.
namespace tls_files {
inline constexpr const char* ca_cert = "ca-cert.pem";
inline constexpr const char* ca_crl = "ca-crl.pem";
inline constexpr const char* server_cert = "server-cert.pem";
inline constexpr const char* server_key = "server-key.pem";
inline constexpr const char* client_cert = "client-cert.pem";
inline constexpr const char* client_key = "client-key.pem";
} // namespace tls_files

// Certificates, key and priorities of one endpoint, loaded once and shared by
// its sessions (read-only, so thread-safe).
class TlsCredentials {
public:
    enum class Role { server, client };
    // Throws std::runtime_error naming the file and what is wrong with it
    // (missing, unreadable, not PEM, key not matching the certificate), or
    // the priority string and where it is wrong.
    static std::shared_ptr<const TlsCredentials> load(const TlsConfig& config, Role role);
    ~TlsCredentials();
    TlsCredentials(const TlsCredentials&) = delete;
    TlsCredentials& operator=(const TlsCredentials&) = delete;

    Role role() const { return role_; }
    const TlsConfig& config() const { return config_; }
    bool has_certificate() const { return has_certificate_; }

private:
    friend class TlsSession;
    TlsCredentials(TlsConfig config, Role role);

    TlsConfig config_;
    Role role_;
    bool has_certificate_ = false;
    void* x509_ = nullptr;     // gnutls_certificate_credentials_t (kept out of this header)
    void* priority_ = nullptr; // gnutls_priority_t
};

// The credentials of an endpoint at `address` (server or client), errors
// prefixed with `label`. A client with no hostname checks the server's
// certificate against the host of a TCP address, as QEMU's chardev does
// (chardev/char-socket.c, tcp_chr_tls_init()); a unix socket has none.
std::shared_ptr<const TlsCredentials> load_endpoint_credentials(TlsConfig config, bool server,
                                                                const SocketAddress& address, const std::string& label);
// Who is at the other end of `fd`, for the log: "192.0.2.7:41234" for a
// server's TCP peer, "a local peer" on a unix socket, "the server" for a
// client (its address is the endpoint's own).
std::string tls_peer_name(int fd, bool server);

class TlsSession {
public:
    // `fd` is a connected non-blocking socket, which the session uses but
    // does not own. Throws std::runtime_error if GnuTLS cannot set it up.
    TlsSession(std::shared_ptr<const TlsCredentials> credentials, int fd);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    enum class Step { done, want_read, want_write, failed };
    // Advances the handshake and, once it is through, checks the peer's
    // certificate (with verify_peer). On failed, error() says why, e.g. "the
    // peer's certificate has expired" or "An unexpected TLS packet was
    // received." (a plaintext peer).
    Step handshake();

    // Results of recv() and send() that are not byte counts.
    static constexpr ssize_t kAgain = -1; // would block: wait for the socket (want_write() says which way)
    static constexpr ssize_t kError = -2; // the connection is unusable: error() says why
    // > 0: plaintext bytes; 0: the peer closed the connection (with or
    // without a close_notify: QEMU closes without one).
    ssize_t recv(uint8_t* buf, std::size_t len);
    // Decrypted bytes GnuTLS holds beyond the last recv(): poll() cannot see
    // them, so a reader must take them before it waits for the socket again.
    std::size_t pending() const;
    // Sends up to kMaxRecord bytes as one record; > 0: all of `len` was sent.
    // (StreamEndpoint sends smaller ones, for QEMU 7.2's sake.)
    // After kAgain, call again with the same buffer and length (GnuTLS has
    // already encrypted it, and part of it may be on the wire).
    ssize_t send(const uint8_t* buf, std::size_t len);
    static constexpr std::size_t kMaxRecord = 16384;
    // The last kAgain of send() or the handshake waits for the socket to be
    // writable (true) or readable (false).
    bool want_write() const;
    // Best effort, never blocks: tells the peer we are closing (close_notify).
    void bye();

    const std::string& error() const { return error_; }
    // "TLS1.3 / ECDHE-RSA / AES-256-GCM"-like text, once the handshake is done.
    std::string description() const;

private:
    std::string check_peer() const; // empty when the peer's certificate is acceptable

    std::shared_ptr<const TlsCredentials> credentials_;
    void* session_ = nullptr; // gnutls_session_t
    std::string error_;
};

} // namespace colo
