#pragma once
// One PDF page as an image at a given width, with a quoted sentence's boxes highlighted. Runs on
// the engine thread (opening and rendering a PDF takes tens of milliseconds: never on the UI thread).
#include <QImage>
#include <QString>

struct RenderedPdfPage {
  QImage image;
  int page = 0, pageCount = 0, highlights = 0;  // page 1-based
  QString error;
};

RenderedPdfPage render_pdf_page(const QString& path, int page, int width, const QString& quote);
