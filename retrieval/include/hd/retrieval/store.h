#pragma once
// The document store: one SQLite database (WAL mode) in the store folder, with a
// versioned schema that is migrated forward on open and refused when it is newer than
// this program understands.
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

struct sqlite3;

namespace hd {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  // The schema version this build writes.
  static constexpr int kSchemaVersion = 1;

  // Opens (creating when missing) the store in `dir`; migrates older schemas.
  static std::unique_ptr<Store> open(const std::filesystem::path& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path database_path() const { return dir_ / "store.sqlite3"; }
  int schema_version() const;
  std::string journal_mode() const;
  long long document_count() const;

 private:
  Store() = default;
  std::filesystem::path dir_;
  sqlite3* db_ = nullptr;
};

}  // namespace hd
