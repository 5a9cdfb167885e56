#pragma once
// Plain values that cross threads in queued signals (registered with Qt's meta-type system).
#include <QImage>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include "hd/app/library.h"
#include "hd/app/model_registry.h"
#include "settings.h"

struct UiSource {
  int number = 0;
  QString title, path, section, quote;
  int pageFirst = 0, pageLast = 0;
  long long documentId = 0;
  QVector<long long> chunkIds;
};

struct UiAnswer {
  QString question, text;
  bool extractive = false, partial = false, summary = false;
  QVector<UiSource> sources;
  QStringList notices;
  double secondsToFirstToken = 0, tokensPerSecond = 0, seconds = 0;
  QString cacheTier;
  qulonglong cachedTokens = 0, newTokens = 0;
};

struct UiPassage {
  QString path, format, text, error;
  QImage image;  // PDFs: the page, rendered on the engine thread, the quote highlighted
  int pageCount = 0, highlights = 0;
  int pageFirst = 0, pageLast = 0;
  int begin = 0, end = 0;  // the passage in `text` (formats without pages)
  QString quote;
  // Markdown and HTML: the file itself, read on the engine thread, for the viewer to lay out as
  // written (empty when too large or not UTF-8: the viewer shows `text` instead).
  QString source;
};

using UiLibrary = QVector<hd::LibraryEntry>;
using UiModels = std::vector<hd::InstalledModel>;

Q_DECLARE_METATYPE(UiSource)
Q_DECLARE_METATYPE(UiAnswer)
Q_DECLARE_METATYPE(UiPassage)
Q_DECLARE_METATYPE(UiLibrary)
Q_DECLARE_METATYPE(UiModels)

void registerUiTypes();
Q_DECLARE_METATYPE(UiSettings)
