#include "sim/core/sqlite_db.h"

#include <sqlite3.h>

#include <charconv>
#include <filesystem>

#include "sim/core/errors.h"

namespace qxbar {

SqliteStatement::SqliteStatement(sqlite3* db, const std::string& path, const std::string& sql) : db_(db), path_(path) {
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK) fail();
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), path_(std::move(other.path_)), statement_(other.statement_) {
  other.statement_ = nullptr;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

void SqliteStatement::fail() const { throw DataError(path_ + ": " + sqlite3_errmsg(db_)); }

SqliteStatement& SqliteStatement::bind(int parameter, double value) {
  if (sqlite3_bind_double(statement_, parameter, value) != SQLITE_OK) fail();
  return *this;
}

SqliteStatement& SqliteStatement::bind(int parameter, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, parameter, value) != SQLITE_OK) fail();
  return *this;
}

SqliteStatement& SqliteStatement::bind(int parameter, const std::string& value) {
  if (sqlite3_bind_text(statement_, parameter, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK) fail();
  return *this;
}

SqliteStatement& SqliteStatement::bind_scalar(int parameter, const std::string& text) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  std::int64_t integer = 0;
  if (const auto parsed = std::from_chars(begin, end, integer); parsed.ec == std::errc() && parsed.ptr == end) {
    return bind(parameter, integer);
  }
  double number = 0;
  if (const auto parsed = std::from_chars(begin, end, number); parsed.ec == std::errc() && parsed.ptr == end) {
    return bind(parameter, number);
  }
  return bind(parameter, text);
}

bool SqliteStatement::next_row() {
  const int status = sqlite3_step(statement_);
  if (status == SQLITE_ROW) return true;
  if (status != SQLITE_DONE) fail();
  return false;
}

void SqliteStatement::run() {
  if (sqlite3_step(statement_) != SQLITE_DONE) {
    const std::string reason = sqlite3_errmsg(db_);
    sqlite3_reset(statement_);
    throw DataError(path_ + ": " + reason);
  }
  reset();
}

void SqliteStatement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int SqliteStatement::column_count() const { return sqlite3_column_count(statement_); }
std::string SqliteStatement::column_name(int column) const { return sqlite3_column_name(statement_, column); }
bool SqliteStatement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
double SqliteStatement::real(int column) const { return sqlite3_column_double(statement_, column); }
std::int64_t SqliteStatement::integer(int column) const { return sqlite3_column_int64(statement_, column); }

std::string SqliteStatement::text(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

SqliteDb::SqliteDb(const std::string& path, int busy_timeout_ms) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(file.parent_path(), error);
    if (error) throw DataError(path + ": cannot create its folder: " + error.message());
  }
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw DataError(path + ": cannot open database: " + reason);
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

void SqliteDb::transaction(const std::function<void()>& body) {
  execute("BEGIN IMMEDIATE");
  try {
    body();
    execute("COMMIT");
  } catch (...) {
    try {
      execute("ROLLBACK");
    } catch (const DataError&) {
      // SQLite may have rolled back already; the first error is the one to report.
    }
    throw;
  }
}

void SqliteDb::execute(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string reason = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw DataError(path_ + ": " + reason);
  }
}

}  // namespace qxbar
