#include "pdf_page_render.h"

#include <QPainter>
#include <QPdfDocument>
#include <QPdfSelection>

RenderedPdfPage render_pdf_page(const QString& path, int page, int width, const QString& quote) {
  RenderedPdfPage out;
  QPdfDocument pdf;
  if (pdf.load(path) != QPdfDocument::Error::None || pdf.pageCount() == 0) {
    out.error = QStringLiteral("%1: the PDF cannot be shown (it may have changed or been moved)").arg(path);
    return out;
  }
  out.pageCount = pdf.pageCount();
  out.page = std::clamp(page, 1, out.pageCount);
  const int index = out.page - 1;
  const QSizeF points = pdf.pagePointSize(index);
  const qreal scale = std::max<qreal>(0.5, width / std::max<qreal>(points.width(), 1));
  out.image = pdf.render(index, (points * scale).toSize());
  // The quote as the page spells it: its first words found in the page's text (the text layer may
  // break lines where the quote has spaces), then its boxes from that offset.
  const QString pageText = pdf.getAllText(index).text();
  const QString words = quote.simplified().section(' ', 0, 7);
  if (words.isEmpty()) return out;
  const qsizetype at = pageText.simplified().indexOf(words, 0, Qt::CaseInsensitive);
  if (at < 0) return out;
  qsizetype raw = 0, seen = 0;  // the offset in the simplified text mapped back to the page text
  for (; raw < pageText.size() && seen < at; ++raw) {
    if (!pageText[raw].isSpace() || (raw > 0 && !pageText[raw - 1].isSpace())) ++seen;
  }
  const QPdfSelection sel = pdf.getSelectionAtIndex(index, static_cast<int>(raw), static_cast<int>(quote.simplified().size()));
  QPainter painter(&out.image);
  painter.setCompositionMode(QPainter::CompositionMode_Multiply);
  painter.setPen(Qt::NoPen);
  painter.setBrush(QColor(255, 230, 90));
  for (const QPolygonF& box : sel.bounds()) {
    QPolygonF scaled;
    for (const QPointF& p : box) scaled << p * scale;
    painter.drawPolygon(scaled);
    ++out.highlights;
  }
  return out;
}
