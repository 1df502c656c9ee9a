#include "dataplane/parse/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace sluice {

std::string format_ip(const IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  int family = address.family == 4 ? AF_INET : address.family == 6 ? AF_INET6 : 0;
  if (family == 0 || inet_ntop(family, address.bytes, text, sizeof text) == nullptr) return {};
  return text;
}

}  // namespace sluice
