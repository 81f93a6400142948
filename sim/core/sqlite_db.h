#pragma once

#include <cstdint>
#include <functional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace qxbar {

// A prepared statement. Every failure is a DataError naming the database file.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& path, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;

  // Parameters count from 1, as in SQL.
  SqliteStatement& bind(int parameter, double value);
  SqliteStatement& bind(int parameter, std::int64_t value);
  SqliteStatement& bind(int parameter, int value) { return bind(parameter, static_cast<std::int64_t>(value)); }
  SqliteStatement& bind(int parameter, const std::string& value);
  SqliteStatement& bind(int parameter, const char* value) { return bind(parameter, std::string(value)); }
  // Integers and decimals go in as numbers so the table can be queried by value; anything else as text.
  SqliteStatement& bind_scalar(int parameter, const std::string& text);

  bool next_row();  // steps: true while a row is available
  void run();       // steps a statement that returns no rows, then makes it ready to run again
  void reset();     // ready to run again, bindings cleared

  // Columns count from 0.
  int column_count() const;
  std::string column_name(int column) const;
  bool is_null(int column) const;
  double real(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;  // NULL reads as ""

 private:
  [[noreturn]] void fail() const;
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* statement_ = nullptr;
};

// An SQLite database file, created with its folder when missing. Several processes may share it: they
// wait for each other's transactions up to the busy timeout.
class SqliteDb {
 public:
  explicit SqliteDb(const std::string& path, int busy_timeout_ms = 60000);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void execute(const std::string& sql);
  // Runs `body` in one write transaction: all of it is committed, or (on any exception) none of it.
  void transaction(const std::function<void()>& body);
  SqliteStatement prepare(const std::string& sql) const { return SqliteStatement(db_, path_, sql); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace qxbar
