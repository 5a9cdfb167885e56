#include "engine_worker.h"

#include <QFile>
#include <QSaveFile>
#include <QStringDecoder>

#include "hd/app/answer_service.h"
#include "hd/app/library.h"
#include "hd/app/model_registry.h"
#include "hd/kernels/device.h"
#include "pdf_page_render.h"

namespace {

UiAnswer toUi(const std::string& text, const std::vector<hd::Citation>& citations, const hd::PackedContext& context) {
  UiAnswer a;
  a.text = QString::fromStdString(text);
  for (int n : hd::cited_sources(citations)) {
    const hd::SourcePassage* p = context.source(n);
    if (!p) continue;
    UiSource s;
    s.number = n;
    s.title = QString::fromStdString(p->title);
    s.path = QString::fromStdString(p->path);
    s.section = QString::fromStdString(p->section);
    s.pageFirst = p->page_first;
    s.pageLast = p->page_last;
    s.documentId = p->document_id;
    for (long long id : p->chunk_ids) s.chunkIds.push_back(id);
    for (const auto& c : citations) {
      if (c.source == n && s.quote.isEmpty()) s.quote = QString::fromStdString(c.quote);
    }
    a.sources.push_back(s);
  }
  return a;
}

QString megabytes(std::uint64_t bytes) { return QString::number(static_cast<double>(bytes) / (1 << 20), 'f', 0) + " MB"; }

}  // namespace

EngineWorker::EngineWorker(UiSettings settings) : settings_(std::move(settings)) {}

EngineWorker::~EngineWorker() = default;

void EngineWorker::configure(const UiSettings& settings) {
  settings_ = settings;
  service_.reset();
  try {
    emit modelsListed(hd::list_models(settings_.modelsDir.toStdString()));  // for the settings dialog
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  ensureService();
}

bool EngineWorker::ensureService() {
  if (service_) return true;
  try {
    service_ = std::make_unique<hd::AnswerService>(settings_.serviceOptions());
    emit status(QString::fromStdString(service_->model_status()), service_->has_model());
    reportCache();
    return true;
  } catch (const std::exception& e) {
    emit status(QStringLiteral("model not loaded: %1").arg(QString::fromStdString(e.what())), false);
    emit failed(QString::fromStdString(e.what()));
    return false;
  }
}

void EngineWorker::reportCache() {
  if (!service_) return;
  // Asked here, on the engine's thread: the first CUDA call of a thread takes a while.
  if (const hd::DeviceInfo gpu = hd::query_device(0); gpu.available) {
    emit gpuUse(tr("GPU: %1, %2 of %3 GB in use")
                    .arg(QString::fromStdString(gpu.name))
                    .arg(static_cast<double>(hd::device_memory_in_use(0)) / (1ull << 30), 0, 'f', 1)
                    .arg(static_cast<double>(gpu.memory_bytes) / (1ull << 30), 0, 'f', 0));
  } else {
    emit gpuUse(tr("GPU: none (%1)").arg(QString::fromStdString(gpu.reason)));
  }
  if (auto st = service_->cache_stats()) {
    emit cacheUse(QStringLiteral("cache: GPU %1, memory %2, disk %3").arg(megabytes(st->gpu_bytes), megabytes(st->memory_bytes),
                                                                         megabytes(st->disk_bytes)));
  }
}

void EngineWorker::ask(const QString& question, const QVector<long long>& documentIds, const QString& collection) {
  if (!ensureService()) return;
  stop_ = false;
  hd::AskOptions o;
  o.document_ids.assign(documentIds.begin(), documentIds.end());
  if (!collection.isEmpty()) {
    try {
      o.document_ids = hd::Collections::load(service_->store().dir()).document_ids(service_->store(), collection.toStdString());
    } catch (const std::exception& e) {
      emit failed(QString::fromStdString(e.what()));
      return;
    }
    if (o.document_ids.empty()) {
      emit failed(tr("The collection %1 has no documents yet.").arg(collection));
      return;
    }
  }
  o.answer_tokens = settings_.answerTokens;
  o.context_budget = static_cast<std::size_t>(settings_.contextBudget);
  o.cancel = &stop_;
  o.on_text = [this](const std::string& piece) { emit token(QString::fromStdString(piece)); };
  try {
    const hd::AskResult r = service_->ask(question.toStdString(), o);
    UiAnswer a = toUi(r.answer, r.citations, r.context);
    a.question = question;
    a.extractive = r.extractive;
    a.partial = r.stop == hd::StopReason::cancelled;
    a.secondsToFirstToken = r.seconds_to_first_token;
    a.tokensPerSecond = r.decode_tokens_per_second;
    a.seconds = r.seconds;
    a.cacheTier = QString::fromUtf8(hd::to_string(r.cache_tier));
    a.cachedTokens = r.cached_tokens;
    a.newTokens = r.new_tokens;
    for (const auto& n : r.notices) a.notices << QString::fromStdString(n);
    emit answered(a);
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  reportCache();
}

void EngineWorker::summarize(long long documentId, const QString& length, const QString& title) {
  if (!ensureService()) return;
  stop_ = false;
  hd::SummarizeOptions o;
  o.length = length == "short" ? hd::SummaryLength::brief : length == "long" ? hd::SummaryLength::detailed : hd::SummaryLength::medium;
  o.cancel = &stop_;
  o.on_text = [this](const std::string& piece) { emit token(QString::fromStdString(piece)); };
  o.on_progress = [this](int done, int all, double seconds, double left) { emit summaryProgress(done, all, seconds, left); };
  try {
    const hd::SummaryResult r = service_->summarize(documentId, o);
    UiAnswer a = toUi(r.summary, r.citations, r.context);
    a.summary = true;
    a.question = tr("Summary of %1").arg(title);
    a.extractive = r.extractive;
    a.partial = r.partial;
    a.seconds = r.seconds;
    for (const auto& n : r.notices) a.notices << QString::fromStdString(n);
    emit answered(a);
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  reportCache();
}

void EngineWorker::renderPage(const QString& path, int page, int width, const QString& quote) {
  UiPassage v;
  v.path = path;
  v.format = QStringLiteral("pdf");
  v.quote = quote;
  const RenderedPdfPage r = render_pdf_page(path, page, width, quote);
  v.image = r.image;
  v.pageFirst = v.pageLast = r.page;
  v.pageCount = r.pageCount;
  v.highlights = r.highlights;
  v.error = r.error;
  emit located(v);
}

namespace {
// The file as written, for the viewer to lay out; empty (the viewer shows the stored text) when it is
// large enough to slow the window's layout, unreadable, or not UTF-8.
QString readForLayout(const QString& path) {
  constexpr qint64 kMostBytes = 2 << 20;
  QFile f(path);
  if (f.size() > kMostBytes || !f.open(QIODevice::ReadOnly)) return {};
  const QByteArray bytes = f.readAll();
  QStringDecoder utf8(QStringDecoder::Utf8);
  QString text = utf8(bytes);
  return utf8.hasError() ? QString() : text;
}
}  // namespace

void EngineWorker::locate(const UiSource& source, int pageWidth) {
  if (!ensureService()) return;
  hd::SourcePassage p;
  p.document_id = source.documentId;
  p.path = source.path.toStdString();
  p.page_first = source.pageFirst;
  p.page_last = source.pageLast;
  p.chunk_ids.assign(source.chunkIds.begin(), source.chunkIds.end());
  try {
    const hd::PassageLocation at = service_->locate(p);
    UiPassage v;
    v.path = QString::fromStdString(at.path);
    v.format = QString::fromStdString(at.format);
    v.pageFirst = at.page_first;
    v.pageLast = at.page_last;
    v.quote = source.quote;
    if (v.format == "pdf") {
      renderPage(v.path, v.pageFirst, pageWidth, v.quote);
      return;
    }
    // Character offsets into UTF-8 become offsets into the QString (UTF-16).
    v.text = QString::fromStdString(at.text);
    v.begin = static_cast<int>(QString::fromStdString(at.text.substr(0, at.begin)).size());
    v.end = static_cast<int>(QString::fromStdString(at.text.substr(0, at.end)).size());
    if (v.format == "markdown" || v.format == "html") v.source = readForLayout(v.path);
    emit located(v);
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
}

void EngineWorker::exportText(const QString& path, const QString& text) {
  QSaveFile f(path);  // written whole or not at all: a failed export leaves an older file intact
  if (!f.open(QIODevice::WriteOnly) || f.write(text.toUtf8()) < 0 || !f.commit()) {
    emit failed(QStringLiteral("%1: cannot write (%2)").arg(path, f.errorString()));
    return;
  }
  emit exported(path);
}
