// The Beast side of http_server.h: connections, deadlines, limits, and the hand-off of /predict to
// the compute threads.
#include "http_server.h"

#include <malloc.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace digits {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kMaxHeaderBytes = 8192;
// Bodies at least this large make the server hand freed memory back to the system afterwards.
constexpr size_t kTrimAfterBytes = 64 << 10;
// After an error that leaves a body unread, read and drop at most this much (for up to a second)
// before closing, so the client sees the answer rather than a reset.
constexpr size_t kMaxDrainBytes = 4 << 20;

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

using Parser = http::request_parser<http::string_body>;

void ConfigureParser(Parser* parser, size_t max_body) {
  parser->header_limit(kMaxHeaderBytes);
  parser->body_limit(max_body);
}

// The status for a parse error: too large, header too large, or malformed.
int ParseErrorStatus(const beast::error_code& ec) {
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return 431;
  return 400;
}

HttpRequest ToRequest(http::request<http::string_body>&& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.content_type = std::string(req[http::field::content_type]);
  r.origin = std::string(req[http::field::origin]);
  r.accept_encoding = std::string(req[http::field::accept_encoding]);
  r.if_none_match = std::string(req[http::field::if_none_match]);
  r.if_modified_since = std::string(req[http::field::if_modified_since]);
  r.body = std::move(req.body());
  return r;
}

bool IsCompute(const HttpRequest& r) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  return r.method == "POST" && (path == "/predict" || path == "/predict/batch");
}

void Log(const std::string& client, const std::string& method, const std::string& target,
         int status, size_t bytes) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  // The path only (a query could be long), with control bytes shown as '?'.
  std::string path = target.substr(0, std::min<size_t>(target.find('?'), 200));
  for (char& c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  std::fprintf(stderr, "%s %s %s %s %d %zu\n", stamp, client.c_str(), method.c_str(), path.c_str(),
               status, bytes);
}

class Session;

// The compute threads, shared fairly: one queue per client address, served in turn, so a client
// with many requests waiting delays another's by at most one request per thread (each within the
// budget), never by its whole queue.
class FairQueue {
 public:
  explicit FairQueue(int threads) : pool_(static_cast<size_t>(threads)), threads_(threads) {}
  void Submit(const net::ip::address& client, std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::deque<std::function<void()>>& queue = waiting_[client];
    if (queue.empty()) turns_.push_back(client);
    queue.push_back(std::move(task));
    Pump();
  }
  void Join() { pool_.join(); }

 private:
  void Pump() {  // with mutex_ held
    while (running_ < threads_ && !turns_.empty()) {
      const net::ip::address client = turns_.front();
      turns_.pop_front();
      std::deque<std::function<void()>>& queue = waiting_[client];
      std::function<void()> task = std::move(queue.front());
      queue.pop_front();
      if (queue.empty()) {
        waiting_.erase(client);
      } else {
        turns_.push_back(client);
      }
      ++running_;
      net::post(pool_, [this, task = std::move(task)] {
        task();
        std::lock_guard<std::mutex> lock(mutex_);
        --running_;
        Pump();
      });
    }
  }

  net::thread_pool pool_;
  const int threads_;
  std::mutex mutex_;
  int running_ = 0;
  std::map<net::ip::address, std::deque<std::function<void()>>> waiting_;
  std::deque<net::ip::address> turns_;
};

}  // namespace

struct HttpServer::Impl {
  PredictService* service = nullptr;
  HttpServerOptions options;
  std::string site_root;
  int port = 0;
  bool stopping = false;  // io thread only

  // Declared before the io_context, so that they outlive it: a session that the io_context
  // destroys with its handlers still reports its end here.
  std::mutex mutex;  // guards the counts and the sessions (sessions end on any thread)
  int connections = 0;
  std::map<net::ip::address, int> per_client;
  std::map<Session*, std::weak_ptr<Session>> sessions;
  std::unique_ptr<FairQueue> compute;

  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_retry{io};

  void Accept();
  bool Admit(const net::ip::address& client);
  void Release(Session* session, const net::ip::address& client);
  void StopOnIoThread();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl* server, tcp::socket socket, net::ip::address client)
      : server_(server),
        stream_(std::move(socket)),
        timer_(stream_.get_executor()),
        client_(client),
        client_text_(client.to_string()) {}
  ~Session() { server_->Release(this, client_); }

  void Start() { ReadNext(); }

  // Stopping: a connection waiting for its next request is closed; others finish.
  void CloseIfIdle() {
    if (!got_bytes_ && reading_) stream_.cancel();
  }

 private:
  void ReadNext() {
    if (server_->stopping) return Close();
    parser_.emplace();
    ConfigureParser(&*parser_, server_->options.max_body);
    started_ = Clock::now();
    got_bytes_ = false;
    header_seen_ = false;
    ReadSome();
  }

  void ReadSome() {
    const HttpServerOptions& o = server_->options;
    Clock::time_point deadline = parser_->is_header_done()
                                     ? started_ + Seconds(o.timeout_seconds)
                                     : started_ + Seconds(o.header_timeout_seconds);
    if (got_bytes_) deadline = std::min(deadline, Clock::now() + Seconds(o.stall_timeout_seconds));
    // Our own timer rather than the stream's, which would close the socket before a 408.
    stream_.expires_never();
    timed_out_ = false;
    timer_.expires_at(deadline);
    const uint64_t read = ++reads_;  // a timer that fired late must not cut the next read
    timer_.async_wait([weak = weak_from_this(), read](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock(); self && self->reads_ == read && self->reading_) {
        self->timed_out_ = true;
        self->stream_.socket().cancel(ec);
      }
    });
    reading_ = true;
    http::async_read_some(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    reading_ = false;
    timer_.cancel();
    if (bytes > 0 || buffer_.size() > 0) got_bytes_ = true;
    if (timed_out_) {
      // Silence before a request: an idle keep-alive connection, closed quietly. Within one:
      // too slow (a slow sender, or a Content-Length larger than the body).
      if (got_bytes_) return Fail(408, "the request did not arrive in time");
      return Close();
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec && ec.category() == beast::error_code(http::error::need_more).category()) {
      const int status = ParseErrorStatus(ec);
      return Fail(status, status == 413   ? "request body is larger than the server's limit"
                          : status == 431 ? "request headers are too large"
                                          : "malformed HTTP request");
    }
    if (ec) return Close();
    if (parser_->is_header_done() && !header_seen_) {
      header_seen_ = true;
      // curl and others wait for "100 Continue" before sending a large body.
      if (beast::iequals(parser_->get()[http::field::expect], "100-continue") &&
          !parser_->is_done()) {
        static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(Seconds(server_->options.timeout_seconds));
        net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                         [self = shared_from_this()](beast::error_code e, size_t) {
                           if (e) return self->Close();
                           self->ReadSome();
                         });
        return;
      }
    }
    if (!parser_->is_done()) return ReadSome();
    Dispatch();
  }

  void Dispatch() {
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequest request = ToRequest(std::move(req));
    head_ = request.method == "HEAD";
    method_ = request.method;
    target_ = request.target.substr(0, 256);
    if (!IsCompute(request)) {
      return Write(HandleHttpRequest(*server_->service, server_->site_root, request, {},
                                     server_->options.cors));
    }
    // /predict on a compute thread, within the budget from when it starts there, stopped if the
    // client goes: a peek that reads the end of the stream (or an error) means it has closed.
    RequestControl control;
    const int fd = stream_.socket().native_handle();
    control.client_gone = [fd] {
      char c;
      const ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    };
    stream_.expires_never();
    const Clock::time_point queued = Clock::now();
    // The I/O loop keeps running while the work is away (a stop waits for it to be answered).
    auto io_busy = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        server_->io.get_executor());
    server_->compute->Submit(client_, [self = shared_from_this(), request = std::move(request),
                                       control, queued, io_busy]() mutable {
      const HttpServerOptions& o = self->server_->options;
      const Clock::time_point start = Clock::now();
      HttpResponse response;
      if (start - queued > Seconds(o.timeout_seconds)) {
        const HttpReply reply = PredictService::Error(503, "the server is busy, try later");
        response = {reply.status, reply.content_type, reply.body, {}};
        AddCommonHeaders(o.cors, request, false, &response);
      } else {
        control.clock = o.budget_clock;
        control.deadline = control.Now() + std::chrono::milliseconds(o.budget_ms);
        response = HandleHttpRequest(*self->server_->service, self->server_->site_root, request,
                                     control, o.cors);
      }
      const bool gone = control.client_gone();
      const bool trim = request.body.size() >= kTrimAfterBytes;
      request = HttpRequest();
      // Large bodies and decoded images are freed by now: hand the memory back (a burst of them
      // otherwise leaves the process hundreds of MB larger).
      if (trim) malloc_trim(0);
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response), gone]() mutable {
                  if (gone) {
                    Log(self->client_text_, self->method_, self->target_, 499, 0);
                    return self->Close();
                  }
                  self->Write(std::move(response));
                });
      io_busy->reset();
    });
  }

  void Write(HttpResponse response, bool close = false) {
    res_ = {};
    res_.version(version_ ? version_ : 11);
    res_.result(static_cast<unsigned>(response.status));
    res_.set(http::field::server, "digits");
    if (!response.content_type.empty()) res_.set(http::field::content_type, response.content_type);
    for (const auto& header : response.headers) res_.set(header.first, header.second);
    const size_t size = response.body.size();
    res_.body() = std::move(response.body);
    if (response.status == 304) {
      // No body and no Content-Length: a length here would be taken for the cached file's.
      res_.body().clear();
    } else if (head_) {
      res_.body().clear();
      res_.content_length(size);
    } else {
      res_.prepare_payload();
    }
    close_ = close || !keep_alive_ || server_->stopping;
    res_.keep_alive(!close_);
    Log(client_text_, method_, target_, response.status, size);
    stream_.expires_after(Seconds(server_->options.timeout_seconds));
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    res_ = {};
    if (ec) return Close();
    if (close_) return Drain();
    ReadNext();
  }

  // An error before the request was complete: answer it and close the connection.
  void Fail(int status, const std::string& message) {
    method_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().method_string())
                                                   : std::string("-");
    target_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "-";
    target_ = target_.substr(0, 256);
    head_ = false;
    version_ = 11;
    HttpResponse response;
    const HttpReply reply = PredictService::Error(status, message);
    response.status = reply.status;
    response.content_type = reply.content_type;
    response.body = reply.body;
    HttpRequest request;  // only its origin counts, so that a page elsewhere can read the error
    if (parser_ && parser_->is_header_done()) {
      request.origin = std::string(parser_->get()[http::field::origin]);
    }
    AddCommonHeaders(server_->options.cors, request, false, &response);
    parser_.reset();
    Write(std::move(response), /*close=*/true);
  }

  // Half-closes, then reads and drops what the client still sends (bounded in bytes and time)
  // so that it reads the answer rather than a connection reset.
  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(1));
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code e, size_t n) {
                              self->drained_ += n;
                              if (e || self->drained_ > kMaxDrainBytes) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  HttpServer::Impl* server_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  bool timed_out_ = false;
  uint64_t reads_ = 0;
  beast::flat_buffer buffer_{64 << 10};  // its limit: headers and the body pass through it
  net::ip::address client_;
  std::string client_text_;
  std::optional<Parser> parser_;
  http::response<http::string_body> res_;
  Clock::time_point started_;
  bool got_bytes_ = false, header_seen_ = false, reading_ = false;
  bool keep_alive_ = false, head_ = false, close_ = false;
  unsigned version_ = 11;
  size_t drained_ = 0;
  std::string method_ = "-", target_ = "-";
};

}  // namespace

bool HttpServer::Impl::Admit(const net::ip::address& client) {
  std::lock_guard<std::mutex> lock(mutex);
  int& mine = per_client[client];
  if (connections >= options.max_connections || mine >= options.max_connections_per_client) {
    if (mine == 0) per_client.erase(client);
    return false;
  }
  ++connections;
  ++mine;
  return true;
}

void HttpServer::Impl::Release(Session* session, const net::ip::address& client) {
  std::lock_guard<std::mutex> lock(mutex);
  --connections;
  auto it = per_client.find(client);
  if (it != per_client.end() && --it->second <= 0) per_client.erase(it);
  sessions.erase(session);
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      beast::error_code e;
      const tcp::endpoint peer = socket.remote_endpoint(e);
      if (!e && Admit(peer.address())) {
        auto session = std::make_shared<Session>(this, std::move(socket), peer.address());
        {
          std::lock_guard<std::mutex> lock(mutex);
          sessions[session.get()] = session;
        }
        session->Start();
      } else if (!e) {
        // Over a limit: a short answer, never waited on, and the connection is closed.
        static const char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Content-Length: 43\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
            "{\"error\":\"too many connections, try later\"}";
        socket.non_blocking(true, e);
        socket.write_some(net::buffer(kBusy, sizeof(kBusy) - 1), e);
        socket.close(e);
      }
    } else if (ec != net::error::operation_aborted) {
      // Out of file descriptors, say: try again shortly rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code) { Accept(); });
      return;
    }
    Accept();
  });
}

void HttpServer::Impl::StopOnIoThread() {
  stopping = true;
  beast::error_code ec;
  acceptor.close(ec);
  accept_retry.cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& entry : sessions) {
      if (auto s = entry.second.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->CloseIfIdle();
}

Status HttpServer::Create(PredictService* service, const HttpServerOptions& options,
                          std::unique_ptr<HttpServer>* out) {
  if (options.threads < 1 || options.threads > 256) return Status::Error("threads must be 1..256");
  if (options.max_connections < 1 || options.max_connections_per_client < 1) {
    return Status::Error("connection limits must be at least 1");
  }
  if (!(options.timeout_seconds > 0) || !(options.header_timeout_seconds > 0) ||
      !(options.stall_timeout_seconds > 0) || options.budget_ms < 1) {
    return Status::Error("timeouts and the budget must be positive");
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.service = service;
  impl.options = options;
  if (!options.site.empty()) {
    impl.site_root = SiteRoot(options.site);
    if (impl.site_root.empty()) {
      return Status::Errorf("--site '%s' is not a directory", options.site.c_str());
    }
  }
  beast::error_code ec;
  tcp::endpoint endpoint;
  const net::ip::address address = net::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(options.port));
  } else {  // a name such as "localhost": its first address
    tcp::resolver resolver(impl.io);
    const auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec || results.empty()) {
      return Status::Errorf("cannot listen on '%s': unknown host", options.host.c_str());
    }
    endpoint = results.begin()->endpoint();
  }
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Errorf("cannot listen on %s:%d: %s", options.host.c_str(), options.port,
                          ec.message().c_str());
  }
  impl.port = impl.acceptor.local_endpoint().port();
  impl.compute = std::make_unique<FairQueue>(options.threads);
  *out = std::move(server);
  return Status::Ok();
}

HttpServer::~HttpServer() = default;

int HttpServer::port() const {
  return impl_->port;
}

void HttpServer::Run() {
  impl_->Accept();
  impl_->io.run();
  impl_->compute->Join();
}

void HttpServer::Stop() {
  net::post(impl_->io, [impl = impl_.get()] { impl->StopOnIoThread(); });
}

int ParseHttpRequest(const std::string& bytes, size_t max_body, HttpRequest* out) {
  Parser parser;
  ConfigureParser(&parser, max_body);
  parser.eager(true);
  beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec) return ParseErrorStatus(ec);
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done()) {
    // A request that ends with the connection (no length, no chunks) is complete at EOF.
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return ec && ec != http::error::partial_message ? 400 : -1;
  }
  *out = ToRequest(parser.release());
  return 0;
}

}  // namespace digits
