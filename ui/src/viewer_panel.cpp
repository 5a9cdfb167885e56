#include "viewer_panel.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPdfDocument>
#include <QPdfSelection>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

ViewerPanel::ViewerPanel(QWidget* parent) : QWidget(parent), pdf_(new QPdfDocument(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout();
  title_ = new QLabel(tr("Open a source to see it here."), this);
  title_->setObjectName("viewerTitle");
  title_->setWordWrap(true);
  pageBox_ = new QSpinBox(this);
  pageBox_->setObjectName("viewerPage");
  pageBox_->setAccessibleName(tr("Page"));
  pageBox_->setPrefix(tr("page "));
  pageBox_->setEnabled(false);
  top->addWidget(title_, 1);
  top->addWidget(pageBox_);
  layout->addLayout(top);

  stack_ = new QStackedWidget(this);
  pdfArea_ = new QScrollArea(this);
  pdfPage_ = new QLabel(pdfArea_);
  pdfPage_->setObjectName("pdfPage");
  pdfPage_->setAccessibleName(tr("PDF page"));
  pdfArea_->setWidget(pdfPage_);
  pdfArea_->setWidgetResizable(false);
  text_ = new QTextBrowser(this);
  text_->setObjectName("viewerText");
  text_->setAccessibleName(tr("Document text"));
  stack_->addWidget(text_);
  stack_->addWidget(pdfArea_);
  layout->addWidget(stack_, 1);

  connect(pageBox_, &QSpinBox::valueChanged, this, [this](int p) {
    if (p != page_ && pdf_->pageCount() > 0) {
      page_ = p;
      renderPage();
    }
  });
}

void ViewerPanel::show(const UiPassage& passage) {
  path_ = passage.path;
  quote_ = passage.quote;
  title_->setText(QFileInfo(passage.path).fileName());
  title_->setToolTip(passage.path);
  if (passage.format == "pdf") {
    if (pdf_->load(passage.path) != QPdfDocument::Error::None) {
      text_->setPlainText(tr("%1: the PDF cannot be shown (it may have changed or been moved)").arg(passage.path));
      stack_->setCurrentWidget(text_);
      page_ = 0;
      return;
    }
    page_ = std::clamp(passage.pageFirst, 1, pdf_->pageCount());
    pageBox_->setEnabled(true);
    pageBox_->setRange(1, pdf_->pageCount());
    pageBox_->setValue(page_);
    stack_->setCurrentWidget(pdfArea_);
    renderPage();
    return;
  }
  page_ = 0;
  pageBox_->setEnabled(false);
  stack_->setCurrentWidget(text_);
  text_->setPlainText(passage.text);
  QTextCursor c(text_->document());
  c.setPosition(std::clamp(passage.begin, 0, static_cast<int>(passage.text.size())));
  c.setPosition(std::clamp(passage.end, 0, static_cast<int>(passage.text.size())), QTextCursor::KeepAnchor);
  QTextEdit::ExtraSelection highlight;
  highlight.cursor = c;
  highlight.format.setBackground(QColor(255, 235, 120));
  text_->setExtraSelections({highlight});
  highlights_ = c.hasSelection() ? 1 : 0;
  QTextCursor start = c;
  start.setPosition(c.selectionStart());
  text_->setTextCursor(start);
  text_->ensureCursorVisible();
}

void ViewerPanel::renderPage() {
  // The page at the viewer's width; the quoted sentence's boxes painted over it.
  const int index = page_ - 1;
  const QSizeF points = pdf_->pagePointSize(index);
  const qreal scale = std::max(0.5, (pdfArea_->viewport()->width() - 8) / std::max<qreal>(points.width(), 1));
  QImage image = pdf_->render(index, (points * scale).toSize());
  highlights_ = 0;
  const QString pageText = pdf_->getAllText(index).text();
  // The quote as the page spells it: search its first words (the text layer may break lines).
  const QString words = quote_.simplified().section(' ', 0, 7);
  const QString flat = pageText.simplified();
  if (!words.isEmpty()) {
    const qsizetype at = flat.indexOf(words, 0, Qt::CaseInsensitive);
    if (at >= 0) {
      // Map the index in the simplified text back to the page text.
      qsizetype raw = 0, seen = 0;
      for (; raw < pageText.size() && seen < at; ++raw) {
        if (!pageText[raw].isSpace() || (raw > 0 && !pageText[raw - 1].isSpace())) ++seen;
      }
      const QPdfSelection sel = pdf_->getSelectionAtIndex(index, static_cast<int>(raw), static_cast<int>(quote_.simplified().size()));
      QPainter painter(&image);
      painter.setCompositionMode(QPainter::CompositionMode_Multiply);
      for (const QPolygonF& box : sel.bounds()) {
        QPolygonF scaled;
        for (const QPointF& p : box) scaled << p * scale;
        painter.setBrush(QColor(255, 230, 90));
        painter.setPen(Qt::NoPen);
        painter.drawPolygon(scaled);
        ++highlights_;
      }
    }
  }
  pdfPage_->setPixmap(QPixmap::fromImage(image));
  pdfPage_->resize(image.size());
  pdfArea_->verticalScrollBar()->setValue(0);
}
