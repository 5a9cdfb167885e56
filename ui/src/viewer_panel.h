#pragma once
// The viewer: a cited passage in place. PDFs show the cited page (rendered on the engine thread,
// the quoted sentence highlighted); other formats show the document's text scrolled to the
// passage, highlighted: Markdown and HTML laid out as written (Qt's rich text), other formats as the
// stored text. Paging through a PDF asks the engine thread for the page.
#include <QTextCursor>
#include <QWidget>

#include "ui_types.h"

class QLabel;
class QScrollArea;
class QSpinBox;
class QStackedWidget;
class QTextBrowser;

class ViewerPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ViewerPanel(QWidget* parent = nullptr);
  int currentPage() const { return page_; }  // 1-based; 0 when no PDF is shown
  int highlightedBoxes() const { return highlights_; }
  bool laidOut() const { return laidOut_; }  // Markdown or HTML shown as written, not as stored text
  QString shownPath() const { return path_; }
  int pageWidth() const;  // the width a page is rendered at

 public slots:
  void show(const UiPassage& passage);

 signals:
  void pageRequested(const QString& path, int page, int width, const QString& quote);

 private:
  QTextCursor findInLayout(const QString& quote) const;

  QStackedWidget* stack_;
  QLabel* title_;
  QScrollArea* pdfArea_;
  QLabel* pdfPage_;
  QSpinBox* pageBox_;
  QTextBrowser* text_;
  QString path_, quote_;
  int page_ = 0, highlights_ = 0;
  bool laidOut_ = false;
};
