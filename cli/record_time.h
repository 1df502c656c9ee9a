// Times as operators write them on sluicectl's command line and as records carry them:
// durations ("90s", "15m", "2h", "3d") and RFC 3339 timestamps ("2026-11-22T20:15:00.880Z",
// "2026-11-22T21:15:00+01:00"). Everything is milliseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// "90s", "15m", "2h", "3d" (also "500ms", "1w"): a positive whole number and one unit.
std::optional<int64_t> parse_duration_ms(std::string_view text);

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM); 't'/'z' and a space for 'T'
// accepted. Fractions past milliseconds are cut, not rounded.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

// "2026-11-22T20:15:00.880Z": the form records use.
std::string format_rfc3339_ms(int64_t ms);

// --since / --until: a duration counts back from `now_ms`, anything else must be a timestamp.
// On failure returns nullopt and says why in `error`.
std::optional<int64_t> parse_time_bound(std::string_view text, int64_t now_ms, std::string& error);

// Now, or $SLUICECTL_NOW (an RFC 3339 timestamp) when set: tests pin the clock with it.
int64_t now_ms();

}  // namespace sluice
