#include "viewer_panel.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace {
// A text browser that never reads images or linked files: that would be disk work on the window's
// thread, and a document's links and images are not what a cited passage needs.
class OfflineTextBrowser : public QTextBrowser {
 public:
  using QTextBrowser::QTextBrowser;
  QVariant loadResource(int, const QUrl&) override { return {}; }
};
}  // namespace

ViewerPanel::ViewerPanel(QWidget* parent) : QWidget(parent) {
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
  text_ = new OfflineTextBrowser(this);
  text_->setOpenLinks(false);
  text_->setObjectName("viewerText");
  text_->setAccessibleName(tr("Document text"));
  stack_->addWidget(text_);
  stack_->addWidget(pdfArea_);
  layout->addWidget(stack_, 1);

  connect(pageBox_, &QSpinBox::valueChanged, this, [this](int p) {
    if (p != page_ && !path_.isEmpty()) emit pageRequested(path_, p, pageWidth(), quote_);
  });
}

int ViewerPanel::pageWidth() const { return std::max(200, pdfArea_->viewport()->width() - 8); }

void ViewerPanel::show(const UiPassage& passage) {
  path_ = passage.path;
  quote_ = passage.quote;
  title_->setText(QFileInfo(passage.path).fileName());
  title_->setToolTip(passage.path);
  if (passage.format == "pdf") {
    if (!passage.error.isEmpty()) {
      text_->setPlainText(passage.error);
      stack_->setCurrentWidget(text_);
      page_ = 0;
      return;
    }
    page_ = passage.pageFirst;
    highlights_ = passage.highlights;
    const QSignalBlocker quiet(pageBox_);
    pageBox_->setEnabled(true);
    pageBox_->setRange(1, passage.pageCount);
    pageBox_->setValue(page_);
    pdfPage_->setPixmap(QPixmap::fromImage(passage.image));
    pdfPage_->resize(passage.image.size());
    stack_->setCurrentWidget(pdfArea_);
    return;
  }
  page_ = 0;
  pageBox_->setEnabled(false);
  stack_->setCurrentWidget(text_);
  laidOut_ = false;
  QTextCursor c;
  if (!passage.source.isEmpty()) {  // Markdown and HTML as written, the quote found in the layout
    if (passage.format == "markdown") text_->setMarkdown(passage.source);
    else text_->setHtml(passage.source);
    c = findInLayout(passage.quote.isEmpty() ? passage.text.mid(passage.begin, passage.end - passage.begin) : passage.quote);
    laidOut_ = c.hasSelection();
  }
  if (!laidOut_) {  // the stored text, where the passage's offsets are exact
    text_->setPlainText(passage.text);
    c = QTextCursor(text_->document());
    c.setPosition(std::clamp(passage.begin, 0, static_cast<int>(passage.text.size())));
    c.setPosition(std::clamp(passage.end, 0, static_cast<int>(passage.text.size())), QTextCursor::KeepAnchor);
  }
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

QTextCursor ViewerPanel::findInLayout(const QString& quote) const {
  // The quote's words with any whitespace between them: the layout joins lines and drops the
  // Markdown or HTML syntax the stored text kept or spaced differently. The whole quote first;
  // failing that (markup inside it), its first words.
  QStringList words = quote.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts);
  for (QString& w : words) w = QRegularExpression::escape(w);
  for (const qsizetype n : {std::min<qsizetype>(words.size(), 80), std::min<qsizetype>(words.size(), 8)}) {
    if (n == 0) break;
    const QTextCursor found =
        text_->document()->find(QRegularExpression(words.mid(0, n).join(QStringLiteral("\\s+"))));
    if (found.hasSelection()) return found;
  }
  return {};
}
