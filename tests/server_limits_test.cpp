// `digits serve`'s time and connection limits, each tested by what it does rather than by how fast
// this machine is: a timeout's answer never comes before its deadline (the client's clock starts
// before it connects, the server's after), so its lower bound holds on any machine and under any
// load, and a flag is shown to set the limit by a value above the default that the answer must
// wait for. The only upper bound is a guard against hanging (kNoAnswer), far past every deadline.
// The connection limits are counts: the answers say which connections were admitted.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "raw_http.h"
#include "server_process.h"

namespace digits {
namespace {

using test::Clock;
using test::Connect;
using test::Get;
using test::ReadReply;
using test::Reply;
using test::SendAll;
using test::ServerProcess;

// Seconds to wait for an answer before calling it lost: a guard against a hang, not a bound on
// speed (every deadline below is at most 10.5 s; the stall timeout they run with is 60 s).
constexpr double kNoAnswer = 40;

// On a new connection: sends `head` at once, then `trickle` one byte every 0.1 s until the server
// answers or closes (never after: a byte sent to a closed socket could reset the answer away),
// then reads the answer. `seconds` counts from before the connection was made.
Reply Trickle(int port, const std::string& head, const std::string& trickle) {
  const Clock::time_point start = Clock::now();
  const int fd = Connect(port, "127.0.0.1");
  if (fd < 0) return {};
  SendAll(fd, head);
  for (char c : trickle) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) != 0) break;  // answered, or closed
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
  }
  Reply r = ReadReply(fd, start, kNoAnswer);
  close(fd);
  return r;
}

// Headers that never end: a request line, then a header line sent a byte at a time.
Reply NeverEndingHeaders(int port) {
  return Trickle(port, "", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(1000, 'a'));
}

// Complete headers, then a body that never ends (Content-Length far beyond what comes).
Reply NeverEndingBody(int port) {
  return Trickle(port,
                 "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 100000\r\n\r\n",
                 std::string(1000, ' '));
}

void Expect408After(const char* what, const Reply& r, double deadline) {
  EXPECT_EQ(r.status, 408) << what << ": " << r.head << r.body;
  EXPECT_NE(r.body.find("did not arrive in time"), std::string::npos) << what << ": " << r.body;
  EXPECT_GE(r.seconds, deadline) << what;
  std::printf("  %-48s %d after %.2f s (deadline %.1f s)\n", what, r.status, r.seconds, deadline);
}

// Headers within 5 s by default (--header-timeout), a whole request within 10 s (--timeout):
// a client that keeps sending, a byte every 0.1 s, is cut off at those deadlines with 408, and
// not before. A connection that sends nothing is closed without an answer at the header
// deadline (it is also a keep-alive connection's idle time). The stall timeout is raised out of
// the way (--stall-timeout 60): a steady trickle never stalls, so only these deadlines can end
// the requests. Both servers, and all five connections, run at once (about 10.5 s).
TEST(ServerLimits, HeaderAndRequestTimeouts) {
  ServerProcess defaults("--stall-timeout 60");
  ServerProcess flags("--stall-timeout 60 --header-timeout 5.5 --timeout 10.5");
  ASSERT_GT(defaults.port(), 0) << defaults.log();
  ASSERT_GT(flags.port(), 0) << flags.log();
  Reply headers, body, silent, headers_flag, body_flag;
  std::vector<std::thread> clients;
  clients.emplace_back([&] { headers = NeverEndingHeaders(defaults.port()); });
  clients.emplace_back([&] { body = NeverEndingBody(defaults.port()); });
  clients.emplace_back([&] {
    const Clock::time_point start = Clock::now();
    const int fd = Connect(defaults.port(), "127.0.0.1");
    silent = ReadReply(fd, start, kNoAnswer);  // ends at EOF (the server closed) or the guard
    close(fd);
  });
  clients.emplace_back([&] { headers_flag = NeverEndingHeaders(flags.port()); });
  clients.emplace_back([&] { body_flag = NeverEndingBody(flags.port()); });
  for (std::thread& t : clients) t.join();

  Expect408After("headers never end (default)", headers, 5.0);
  Expect408After("body never ends (default)", body, 10.0);
  Expect408After("headers never end (--header-timeout 5.5)", headers_flag, 5.5);
  Expect408After("body never ends (--timeout 10.5)", body_flag, 10.5);
  EXPECT_EQ(silent.status, 0) << "an idle connection is closed quietly: " << silent.head;
  EXPECT_GE(silent.seconds, 5.0);
  EXPECT_LT(silent.seconds, kNoAnswer) << "the idle connection was never closed";
  // The header deadline is the earlier one: the body's 408 waits for the request deadline.
  EXPECT_GT(body.seconds, headers.seconds);
  std::printf("  %-48s closed after %.2f s\n", "silent connection (default)", silent.seconds);
  EXPECT_EQ(defaults.Stop(), 0);
  EXPECT_EQ(flags.Stop(), 0);
}

// Opens `count` keep-alive connections from `source` that each get /healthz answered (so each
// was admitted, and each stays open); returns their sockets.
std::vector<int> AdmittedConnections(int port, int count, const char* source) {
  std::vector<int> fds;
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < count; ++i) {
    const int fd = Connect(port, source);
    EXPECT_GE(fd, 0) << "connection " << i;
    if (fd < 0) break;
    fds.push_back(fd);
    SendAll(fd, healthz);
    const Reply r = ReadReply(fd, Clock::now(), kNoAnswer);
    EXPECT_EQ(r.status, 200) << "connection " << i << " of " << count << ": " << r.head << r.body;
  }
  return fds;
}

// A new connection's /healthz.
Reply Healthz(int port, const char* source) {
  return test::Exchange(port, Get("/healthz"), source, kNoAnswer);
}

// A new connection that sends nothing: a refused one is answered 503 and closed at once (an
// admitted one would wait for its request). Nothing is sent, as a request the server never reads
// would turn its close into a reset that can lose the answer.
void ExpectRefused(const char* what, int port, const char* source) {
  const Clock::time_point start = Clock::now();
  const int fd = Connect(port, source);
  ASSERT_GE(fd, 0) << what;
  const Reply r = ReadReply(fd, start, kNoAnswer);
  close(fd);
  EXPECT_EQ(r.status, 503) << what << ": " << r.head << r.body;
  EXPECT_NE(r.body.find("too many connections"), std::string::npos) << what << ": " << r.body;
}

// At most 256 connections by default (--max-connections), whatever their addresses: with the
// per-client limit out of the way, 256 open connections are served, the 257th is refused with
// 503, and once one of the 256 closes a new one is served again. Idle connections are kept open
// for the test (--header-timeout 60).
TEST(ServerLimits, AtMost256ConnectionsByDefault) {
  ServerProcess server("--max-connections-per-client 1000 --header-timeout 60");
  ASSERT_GT(server.port(), 0) << server.log();
  std::vector<int> open = AdmittedConnections(server.port(), 256, "127.0.0.1");
  ASSERT_EQ(open.size(), 256u);
  ExpectRefused("the 257th connection", server.port(), "127.0.0.1");
  ExpectRefused("the 257th, from another address", server.port(), "127.0.0.2");
  close(open.back());
  open.pop_back();
  // The server learns of the close when it reads the end of that stream: until then a new
  // connection may still be refused. Served within a few tries.
  Reply again;
  for (int tries = 0; tries < 200 && again.status != 200; ++tries) {
    again = Healthz(server.port(), "127.0.0.1");
    if (again.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(again.status, 200) << "a connection was closed, yet new ones are refused";
  for (int fd : open) close(fd);
  EXPECT_EQ(server.Stop(), 0);
}

// --max-connections sets the limit, and it counts every address together: three clients on
// three addresses fill a limit of 3, and a fourth address is refused.
TEST(ServerLimits, MaxConnectionsCountsEveryAddress) {
  ServerProcess server("--max-connections 3 --header-timeout 60");
  ASSERT_GT(server.port(), 0) << server.log();
  std::vector<int> open;
  for (const char* source : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
    for (int fd : AdmittedConnections(server.port(), 1, source)) open.push_back(fd);
  }
  ASSERT_EQ(open.size(), 3u);
  ExpectRefused("a 4th connection, from a 4th address", server.port(), "127.0.0.4");
  for (int fd : open) close(fd);
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace digits
