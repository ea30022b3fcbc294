#include "nodes/io/tls_session.hh"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace colo {

namespace {

gnutls_certificate_credentials_t x509_of(void* p)
{
    return static_cast<gnutls_certificate_credentials_t>(p);
}

gnutls_session_t session_of(void* p)
{
    return static_cast<gnutls_session_t>(p);
}

// The contents of `dir`/`name`, or an error naming the file.
struct LoadedFile {
    gnutls_datum_t data{nullptr, 0};
    LoadedFile() = default;
    LoadedFile(const LoadedFile&) = delete;
    LoadedFile& operator=(const LoadedFile&) = delete;
    ~LoadedFile() { gnutls_free(data.data); }
};

std::string path_in(const std::string& dir, const char* name)
{
    return dir + (dir.empty() || dir.back() == '/' ? "" : "/") + name;
}

bool file_exists(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

void load_file(const std::string& path, LoadedFile& out)
{
    // gnutls_load_file() says only "Error while reading file."; errno says more.
    if (::access(path.c_str(), R_OK) != 0)
        throw std::runtime_error(path + ": " + std::strerror(errno) + " (TLS credentials)");
    const int r = gnutls_load_file(path.c_str(), &out.data);
    if (r < 0) throw std::runtime_error(path + ": " + gnutls_strerror(r));
}

// Checks that `path` holds at least one PEM certificate; returns how many.
unsigned check_certificates(const std::string& path, const gnutls_datum_t& pem)
{
    gnutls_x509_crt_t* certs = nullptr;
    unsigned count = 0;
    const int r = gnutls_x509_crt_list_import2(&certs, &count, &pem, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0) throw std::runtime_error(path + ": not a PEM certificate: " + gnutls_strerror(r));
    for (unsigned i = 0; i < count; ++i) gnutls_x509_crt_deinit(certs[i]);
    gnutls_free(certs);
    return count;
}

void check_private_key(const std::string& path, const gnutls_datum_t& pem)
{
    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_privkey_init(&key);
    const int r = gnutls_x509_privkey_import2(key, &pem, GNUTLS_X509_FMT_PEM, nullptr, 0);
    gnutls_x509_privkey_deinit(key);
    if (r < 0)
        throw std::runtime_error(path +
                                 ": not a PEM private key (an encrypted key is not supported): " + gnutls_strerror(r));
}

// What the verification status bits mean for the one reading the log.
std::string verification_text(unsigned status, const std::string& hostname)
{
    if (status & GNUTLS_CERT_EXPIRED) return "the peer's certificate (or its CA's) has expired";
    if (status & GNUTLS_CERT_NOT_ACTIVATED) return "the peer's certificate (or its CA's) is not yet valid";
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
        return std::string("the peer's certificate is not signed by our ") + tls_files::ca_cert + " (another CA?)";
    if (status & GNUTLS_CERT_REVOKED)
        return std::string("the peer's certificate is revoked (") + tls_files::ca_crl + ")";
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) return "the peer's certificate does not carry the host name " + hostname;
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) return "the peer's certificate uses an insecure algorithm";
    gnutls_datum_t text{nullptr, 0};
    std::string s = "the peer's certificate is not trusted";
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
        s += std::string(": ") + reinterpret_cast<const char*>(text.data);
        gnutls_free(text.data);
    }
    return s;
}

} // namespace

// ---------------------------------------------------------------- credentials

TlsCredentials::TlsCredentials(TlsConfig config, Role role) : config_(std::move(config)), role_(role) {}

TlsCredentials::~TlsCredentials()
{
    if (x509_) gnutls_certificate_free_credentials(x509_of(x509_));
    if (priority_) gnutls_priority_deinit(static_cast<gnutls_priority_t>(priority_));
}

std::shared_ptr<const TlsCredentials> TlsCredentials::load(const TlsConfig& config, Role role)
{
    if (!config.enabled()) throw std::invalid_argument("TLS credentials: no directory given");
    std::shared_ptr<TlsCredentials> c(new TlsCredentials(config, role));
    const std::string& dir = config.creds_dir;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw std::runtime_error(dir + ": " + std::strerror(errno) + " (TLS credentials directory)");
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir + ": not a directory (TLS credentials directory)");

    gnutls_certificate_credentials_t x509 = nullptr;
    if (const int r = gnutls_certificate_allocate_credentials(&x509); r < 0)
        throw std::runtime_error(std::string("TLS credentials: ") + gnutls_strerror(r));
    c->x509_ = x509;

    // The CA: always needed, as in QEMU (it verifies the peer, and a server
    // sends its name when it asks for a client certificate).
    const std::string ca = path_in(dir, tls_files::ca_cert);
    {
        LoadedFile pem;
        load_file(ca, pem);
        check_certificates(ca, pem.data);
        const int r = gnutls_certificate_set_x509_trust_mem(x509, &pem.data, GNUTLS_X509_FMT_PEM);
        if (r < 0) throw std::runtime_error(ca + ": " + gnutls_strerror(r));
    }
    if (const std::string crl = path_in(dir, tls_files::ca_crl); file_exists(crl)) {
        LoadedFile pem;
        load_file(crl, pem);
        const int r = gnutls_certificate_set_x509_crl_mem(x509, &pem.data, GNUTLS_X509_FMT_PEM);
        if (r < 0) throw std::runtime_error(crl + ": not a PEM CRL: " + gnutls_strerror(r));
    }

    // Our certificate: a server's is required, a client's optional (QEMU's
    // endpoint=client loads client-cert.pem and client-key.pem if present).
    const bool server = role == Role::server;
    const std::string cert = path_in(dir, server ? tls_files::server_cert : tls_files::client_cert);
    const std::string key = path_in(dir, server ? tls_files::server_key : tls_files::client_key);
    if (server || file_exists(cert) || file_exists(key)) {
        LoadedFile cert_pem, key_pem;
        load_file(cert, cert_pem);
        load_file(key, key_pem);
        check_certificates(cert, cert_pem.data);
        check_private_key(key, key_pem.data);
        const int r =
            gnutls_certificate_set_x509_key_mem2(x509, &cert_pem.data, &key_pem.data, GNUTLS_X509_FMT_PEM, nullptr, 0);
        if (r < 0) throw std::runtime_error(cert + " and " + key + ": " + gnutls_strerror(r));
        c->has_certificate_ = true;
    }

    gnutls_priority_t priority = nullptr;
    const char* error_at = nullptr;
    if (const int r = gnutls_priority_init2(&priority, config.priority.c_str(), &error_at, 0); r < 0) {
        std::string where;
        if (error_at) where = " at \"" + std::string(error_at) + "\"";
        throw std::runtime_error("TLS priority \"" + config.priority + "\": " + gnutls_strerror(r) + where);
    }
    c->priority_ = priority;
    return c;
}

std::shared_ptr<const TlsCredentials> load_endpoint_credentials(TlsConfig config, bool server,
                                                                const SocketAddress& address, const std::string& label)
{
    if (config.handshake_timeout.count() <= 0)
        throw std::invalid_argument(label + ": need a TLS handshake timeout > 0");
    if (!server && config.hostname.empty() && address.kind == SocketAddress::Kind::tcp) config.hostname = address.host;
    try {
        return TlsCredentials::load(config, server ? TlsCredentials::Role::server : TlsCredentials::Role::client);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(label + ": " + e.what());
    }
}

std::string tls_peer_name(int fd, bool server)
{
    if (!server) return "the server";
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return "the peer";
    char host[INET6_ADDRSTRLEN] = "?";
    if (peer.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (peer.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        // Appended, not "[" + std::string(...): GCC 12 warns falsely (-Wrestrict) on
        // operator+ with a literal and a temporary string.
        std::string name = "[";
        name.append(host).append("]:").append(std::to_string(ntohs(in6->sin6_port)));
        return name;
    }
    return "a local peer";
}

// ---------------------------------------------------------------- session

TlsSession::TlsSession(std::shared_ptr<const TlsCredentials> credentials, int fd) : credentials_(std::move(credentials))
{
    const bool server = credentials_->role() == TlsCredentials::Role::server;
    const TlsConfig& config = credentials_->config();
    gnutls_session_t s = nullptr;
    // GNUTLS_NO_SIGNAL: a peer that left must not kill the process (SIGPIPE).
    if (const int r = gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
        r < 0)
        throw std::runtime_error(std::string("TLS session: ") + gnutls_strerror(r));
    session_ = s;
    int r = gnutls_priority_set(s, static_cast<gnutls_priority_t>(credentials_->priority_));
    if (r >= 0) r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x509_of(credentials_->x509_));
    if (r < 0) {
        gnutls_deinit(s);
        session_ = nullptr;
        throw std::runtime_error(std::string("TLS session: ") + gnutls_strerror(r));
    }
    if (config.verify_peer) {
        // Checked inside the handshake, so that the peer gets an alert that
        // says why (bad_certificate, certificate_expired, ...). A server
        // requires the client's certificate: both ends are authenticated.
        if (server) {
            gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
            // Not naming our CA in the request makes a client from another
            // CA show its certificate rather than none, so that the log can
            // say what is wrong with it.
            gnutls_certificate_send_x509_rdn_sequence(s, 1);
        }
        gnutls_session_set_verify_cert(s, server || config.hostname.empty() ? nullptr : config.hostname.c_str(), 0);
    }
    gnutls_transport_set_int(s, fd);
}

TlsSession::~TlsSession()
{
    if (session_) gnutls_deinit(session_of(session_));
}

TlsSession::Step TlsSession::handshake()
{
    gnutls_session_t s = session_of(session_);
    for (;;) {
        const int r = gnutls_handshake(s);
        if (r == GNUTLS_E_SUCCESS) return Step::done;
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
            return gnutls_record_get_direction(s) ? Step::want_write : Step::want_read;
        if (!gnutls_error_is_fatal(r)) continue; // e.g. a warning alert: carry on
        switch (r) {
        case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
            error_ = verification_text(gnutls_session_get_verify_cert_status(s), credentials_->config().hostname);
            break;
        case GNUTLS_E_NO_CERTIFICATE_FOUND:
        case GNUTLS_E_CERTIFICATE_REQUIRED:
            error_ = "the peer sent no certificate (verify_peer is on: it needs one signed by our " +
                     std::string(tls_files::ca_cert) + ")";
            break;
        case GNUTLS_E_FATAL_ALERT_RECEIVED:
            error_ = std::string("the peer refused us: ") + gnutls_alert_get_name(gnutls_alert_get(s));
            break;
        case GNUTLS_E_PREMATURE_TERMINATION:
        case GNUTLS_E_PUSH_ERROR:
        case GNUTLS_E_PULL_ERROR:
            error_ = std::string("the peer closed the connection during the handshake (") + gnutls_strerror(r) + ")";
            break;
        case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
        case GNUTLS_E_UNEXPECTED_PACKET:
        case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
        case GNUTLS_E_RECORD_OVERFLOW: error_ = std::string(gnutls_strerror(r)) + " (a peer without TLS?)"; break;
        default: error_ = gnutls_strerror(r); break;
        }
        return Step::failed;
    }
}

ssize_t TlsSession::recv(uint8_t* buf, std::size_t len)
{
    gnutls_session_t s = session_of(session_);
    for (int tries = 0; tries < 16; ++tries) {
        const ssize_t r = gnutls_record_recv(s, buf, len);
        if (r >= 0) return r;
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) return kAgain;
        // QEMU closes its chardev socket without a close_notify.
        if (r == GNUTLS_E_PREMATURE_TERMINATION) return 0;
        // A TLS 1.2 renegotiation request, a warning alert, a TLS 1.3
        // session ticket: nothing to deliver, read on. (Renegotiation is not
        // done: QEMU never asks for it.)
        if (!gnutls_error_is_fatal(int(r))) continue;
        error_ = r == GNUTLS_E_FATAL_ALERT_RECEIVED
                     ? std::string("the peer sent a fatal alert: ") + gnutls_alert_get_name(gnutls_alert_get(s))
                     : std::string("TLS: ") + gnutls_strerror(int(r));
        return kError;
    }
    return kAgain;
}

std::size_t TlsSession::pending() const
{
    return gnutls_record_check_pending(session_of(session_));
}

ssize_t TlsSession::send(const uint8_t* buf, std::size_t len)
{
    const ssize_t r = gnutls_record_send(session_of(session_), buf, len);
    if (r >= 0) return r;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) return kAgain;
    error_ = std::string("TLS: ") + gnutls_strerror(int(r));
    return kError;
}

bool TlsSession::want_write() const
{
    return gnutls_record_get_direction(session_of(session_)) == 1;
}

void TlsSession::bye()
{
    gnutls_bye(session_of(session_), GNUTLS_SHUT_WR); // non-blocking: GNUTLS_E_AGAIN is fine
}

std::string TlsSession::description() const
{
    char* text = gnutls_session_get_desc(session_of(session_));
    if (!text) return "TLS";
    std::string s = text;
    gnutls_free(text);
    return s;
}

} // namespace colo
