// Raw HTTP/1.1 over loopback sockets for the server tests (tests/attack_test.cpp,
// tests/server_limits_test.cpp): requests written byte for byte as a client (or an attacker)
// sends them, from a chosen loopback address, and answers read with how long they took.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

namespace digits::test {

using Clock = std::chrono::steady_clock;

inline double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A blocking TCP connection from `source` (a loopback address) to the server.
inline int Connect(int port, const char* source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends everything, as a careful client does: it stops when the server answers early (413), so
// that the answer is read rather than lost to a reset. False if it stopped.
inline bool SendAll(int fd, const std::string& bytes) {
  for (size_t at = 0; at < bytes.size();) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) return false;
    const ssize_t n = send(fd, bytes.data() + at, std::min<size_t>(bytes.size() - at, 65536),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

struct Reply {
  int status = 0;  // 0: no answer
  std::string head, body;
  size_t body_bytes = 0;  // as received (the body is kept only up to 1 MiB)
  double seconds = 0;     // from the start of the exchange
};

// Reads one response: status line, headers, then Content-Length bytes (or until EOF).
inline Reply ReadReply(int fd, Clock::time_point start, double timeout) {
  Reply r;
  std::string data;
  size_t header_end = std::string::npos, need = std::string::npos;
  char buf[65536];
  while (Since(start) < timeout) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (header_end == std::string::npos) {
      data.append(buf, static_cast<size_t>(n));
      // Skip interim answers (100 Continue).
      while ((header_end = data.find("\r\n\r\n")) != std::string::npos &&
             data.compare(0, 12, "HTTP/1.1 100") == 0) {
        data.erase(0, header_end + 4);
      }
      if (header_end != std::string::npos) {
        r.head = data.substr(0, header_end);
        std::string lower = r.head;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        const size_t cl = lower.find("content-length:");
        if (cl != std::string::npos) need = std::stoull(lower.substr(cl + 15));
        r.body = data.substr(header_end + 4);
        r.body_bytes = r.body.size();
      }
    } else {
      r.body_bytes += static_cast<size_t>(n);
      if (r.body.size() < (1u << 20)) r.body.append(buf, static_cast<size_t>(n));
    }
    if (need != std::string::npos && r.body_bytes >= need) break;
  }
  r.seconds = Since(start);
  if (r.head.compare(0, 9, "HTTP/1.1 ") == 0) r.status = std::atoi(r.head.c_str() + 9);
  return r;
}

// One request on a new connection from `source`; the connection is closed after the answer.
inline Reply Exchange(int port, const std::string& request, const char* source = "127.0.0.1",
                      double timeout = 10) {
  const Clock::time_point start = Clock::now();
  const int fd = Connect(port, source);
  if (fd < 0) return {};
  SendAll(fd, request);  // the answer may come before all is sent (413)
  Reply r = ReadReply(fd, start, timeout);
  close(fd);
  return r;
}

inline std::string Post(const std::string& path, const std::string& type, const std::string& body,
                        const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         extra_headers + "\r\n" + body;
}

inline std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
         "\r\n";
}

}  // namespace digits::test
