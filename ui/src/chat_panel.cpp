#include "chat_panel.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace {
QString pages(int first, int last) {
  if (first <= 0) return {};
  return first == last ? QStringLiteral("p. %1").arg(first) : QStringLiteral("pp. %1–%2").arg(first).arg(last);
}
}  // namespace

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout();
  scope_ = new QComboBox(this);
  scope_->setObjectName("scope");
  scope_->setAccessibleName(tr("Which documents to ask"));
  scope_->addItem(tr("All documents"));
  scope_->addItem(tr("Selected documents"));
  top->addWidget(new QLabel(tr("Ask:"), this));
  top->addWidget(scope_);
  top->addStretch();
  modelStatus_ = new QLabel(this);
  modelStatus_->setObjectName("modelStatus");
  modelStatus_->setWordWrap(true);
  openModels_ = new QPushButton(tr("Open the models folder"), this);
  openModels_->setObjectName("openModelsFolder");
  openModels_->setAccessibleName(tr("Open the models folder to install a language model"));
  openModels_->hide();
  connect(openModels_, &QPushButton::clicked, this, &ChatPanel::openModelsFolderRequested);
  layout->addLayout(top);
  layout->addWidget(modelStatus_);
  layout->addWidget(openModels_, 0, Qt::AlignLeft);

  transcript_ = new QTextBrowser(this);
  transcript_->setObjectName("transcript");
  transcript_->setAccessibleName(tr("Conversation"));
  layout->addWidget(transcript_, 3);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("summaryProgress");
  progress_->setAccessibleName(tr("Summary progress by section"));
  progress_->hide();
  layout->addWidget(progress_);

  timing_ = new QLabel(this);
  timing_->setObjectName("answerTiming");
  layout->addWidget(timing_);
  sources_ = new QListWidget(this);
  sources_->setObjectName("sources");
  sources_->setAccessibleName(tr("Sources of the last answer: Enter opens one"));
  sources_->setWordWrap(true);
  layout->addWidget(new QLabel(tr("Sources (double-click or Enter to open at the passage):"), this));
  layout->addWidget(sources_, 1);

  auto* bottom = new QHBoxLayout();
  question_ = new QLineEdit(this);
  question_->setObjectName("question");
  question_->setAccessibleName(tr("Question"));
  question_->setPlaceholderText(tr("Ask about your documents…  (Ctrl+L)"));
  ask_ = new QPushButton(tr("Ask"), this);
  ask_->setObjectName("askButton");
  ask_->setDefault(true);
  stop_ = new QPushButton(tr("Stop"), this);
  stop_->setObjectName("stopButton");
  stop_->setAccessibleName(tr("Stop the answer"));
  stop_->setShortcut(Qt::Key_Escape);
  stop_->setEnabled(false);
  export_ = new QPushButton(tr("Export…"), this);
  export_->setObjectName("exportButton");
  export_->setAccessibleName(tr("Export the last answer or summary as Markdown"));
  export_->setEnabled(false);
  bottom->addWidget(question_, 1);
  bottom->addWidget(ask_);
  bottom->addWidget(stop_);
  bottom->addWidget(export_);
  layout->addLayout(bottom);

  auto submit = [this] {
    const QString q = question_->text().trimmed();
    if (q.isEmpty() || !ask_->isEnabled()) return;
    question_->clear();
    beginAnswer(q);
    emit askRequested(q);
  };
  connect(ask_, &QPushButton::clicked, this, submit);
  connect(question_, &QLineEdit::returnPressed, this, submit);
  connect(stop_, &QPushButton::clicked, this, [this] {
    stop_->setEnabled(false);
    emit stopRequested();
  });
  connect(export_, &QPushButton::clicked, this, [this] { emit exportRequested(last_); });
  auto open = [this](QListWidgetItem* item) {
    const int i = sources_->row(item);
    if (i >= 0 && i < last_.sources.size()) emit sourceOpened(last_.sources[i]);
  };
  connect(sources_, &QListWidget::itemActivated, this, open);
}

ChatPanel::Scope ChatPanel::scope() const {
  if (scope_->currentIndex() == 0) return AllDocuments;
  if (scope_->currentIndex() == 1) return SelectedDocuments;
  return Collection;
}

QString ChatPanel::scopeCollection() const { return scope() == Collection ? scope_->currentData().toString() : QString(); }

void ChatPanel::setCollections(const QStringList& names) {
  const QString current = scopeCollection();
  while (scope_->count() > 2) scope_->removeItem(2);
  for (const QString& n : names) scope_->addItem(tr("Collection: %1").arg(n), n);
  if (!current.isEmpty()) scope_->setCurrentIndex(std::max(0, scope_->findData(current)));
}

void ChatPanel::setModelStatus(const QString& status, bool hasModel) {
  openModels_->setVisible(!hasModel);
  modelStatus_->setText(hasModel ? tr("Model: %1").arg(status)
                                 : tr("<b>No language model</b>: answers are extractive (the passages that answer). "
                                      "Run <code>scripts/setup</code>, or put a model in the models folder. (%1)")
                                       .arg(status.section('\n', 0, 0).left(200).toHtmlEscaped()));
}

void ChatPanel::setBusy(bool busy) {
  if (!busy) progress_->hide();
  ask_->setEnabled(!busy);
  stop_->setEnabled(busy);
}

void ChatPanel::beginAnswer(const QString& title) {
  setBusy(true);
  streamed_.clear();
  sources_->clear();
  timing_->setText(tr("Reading…"));
  transcript_->append(QStringLiteral("<p><b>%1</b></p>").arg(title.toHtmlEscaped()));
  transcript_->append(QString());
}

void ChatPanel::showSummaryProgress(int sectionsDone, int sections, double secondsLeft) {
  progress_->setRange(0, std::max(sections, 1));
  progress_->setValue(sectionsDone);
  QString text = sectionsDone < sections ? tr("section %1 of %2").arg(sectionsDone + 1).arg(sections)
                                         : tr("%1 sections read, writing the summary").arg(sections);
  if (sectionsDone > 0 && sectionsDone < sections) text += tr(", about %1 s left").arg(secondsLeft, 0, 'f', 0);
  progress_->setFormat(text);
  progress_->show();
}

void ChatPanel::appendToken(const QString& piece) {
  streamed_ += piece;
  ++pieces_;
  QTextCursor c = transcript_->textCursor();
  c.movePosition(QTextCursor::End);
  c.insertText(piece);
  transcript_->verticalScrollBar()->setValue(transcript_->verticalScrollBar()->maximum());
}

void ChatPanel::showAnswer(const UiAnswer& answer) {
  setBusy(false);
  last_ = answer;
  export_->setEnabled(true);
  if (streamed_.isEmpty() && !answer.text.isEmpty()) appendToken(answer.text);  // extractive: all at once
  QStringList notes = answer.notices;
  if (answer.partial) notes << tr("stopped: what was written so far");
  for (const QString& n : notes) transcript_->append(QStringLiteral("<p><i>%1</i></p>").arg(n.toHtmlEscaped()));
  if (answer.summary || answer.extractive) {
    timing_->setText(tr("%1 s%2").arg(answer.seconds, 0, 'f', 1).arg(answer.extractive ? tr(", extractive") : QString()));
  } else {
    timing_->setText(tr("first token %1 s · %2 tokens/s · documents' state: %3 (%4 cached, %5 read)")
                         .arg(answer.secondsToFirstToken, 0, 'f', 2)
                         .arg(answer.tokensPerSecond, 0, 'f', 1)
                         .arg(answer.cacheTier == "none" ? tr("read now") : tr("from the %1 cache").arg(answer.cacheTier))
                         .arg(answer.cachedTokens)
                         .arg(answer.newTokens));
  }
  sources_->clear();
  for (const UiSource& s : answer.sources) {
    QString where = QFileInfo(s.path).fileName();
    if (!s.section.isEmpty()) where += QStringLiteral(" › ") + s.section;
    const QString page = pages(s.pageFirst, s.pageLast);
    if (!page.isEmpty()) where += QStringLiteral(", ") + page;
    auto* item = new QListWidgetItem(QStringLiteral("[%1] %2\n“%3”").arg(s.number).arg(where, s.quote), sources_);
    item->setToolTip(s.path);
  }
  if (answer.sources.isEmpty()) sources_->addItem(tr("No passage supports the answer closely enough to cite."));
}

void ChatPanel::showError(const QString& message) {
  setBusy(false);
  timing_->clear();
  transcript_->append(QStringLiteral("<p style='color:#a00'>%1</p>").arg(message.toHtmlEscaped()));
}

void ChatPanel::focusQuestion() { question_->setFocus(); }
