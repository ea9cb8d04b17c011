"""CSS of the explorer (passed to `launch(css=...)`)."""

CSS = r"""
.gradio-container { max-width: 1500px !important; }
#boe-header h1 { margin: 0 0 2px 0; font-size: 1.6rem; }
#boe-header p { margin: 0; color: var(--body-text-color-subdued); }
.boe-controls button { min-width: 0 !important; }

/* canvas: tokens as chips */
.boe-canvas { padding: 10px 4px; }
.boe-empty { color: #6b7280; font-style: italic; padding: 24px; text-align: center;
  border: 1px dashed #d1d5db; border-radius: 10px; }
.canvas-title { font-weight: 600; margin-bottom: 8px; color: #374151; }
.chips { display: flex; flex-wrap: wrap; gap: 5px 3px; line-height: 1.2; }
.tok { position: relative; display: inline-block; padding: 3px 6px; border-radius: 6px; font-size: 15px;
  font-family: ui-monospace, SFMono-Regular, Menlo, monospace; border: 1px solid #e5e7eb; background: #fff;
  color: #111827; cursor: default; white-space: pre; }
.tok.sp { margin-left: 7px; }
.tok.prompt { background: #eef1f5; color: #4b5563; border-color: #e2e6ec; }
.tok.prev { background: #ffffff; border-color: #c7d2fe; }
.tok.new { background: #22c55e; color: #fff; border: 2px solid #15803d; font-weight: 700; }
.tok.mask { background: #f9fafb; border: 1.5px dashed #9ca3af; color: #9ca3af; }
.tok.mask .ghost, .cell .ghost { opacity: .55; font-style: italic; }
.tok.remasked, .sdk .cell.remasked { border: 1.5px dashed #7c3aed; color: #7c3aed; background: #ede9fe; }
.tok.remasked s, .sdk .cell.remasked s { text-decoration-thickness: 2px; }
.tok.remasked sup.back, .sdk .cell.remasked sup.back { font-size: 9px; margin-left: 1px; }
.tok.special { font-size: 11px; letter-spacing: .03em; }
.tok.diverge, .cell.diverge { outline: 3px solid #d946ef; outline-offset: 1px; z-index: 2; }
.tok.new[style] { border: 2.5px solid #15803d; }

/* tooltips (hover a chip or a cell) */
[data-tip]:hover::after { content: attr(data-tip); position: absolute; left: 0; top: calc(100% + 6px); z-index: 50;
  background: #111827; color: #f9fafb; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace;
  white-space: pre; padding: 8px 10px; border-radius: 8px; box-shadow: 0 6px 20px rgba(0,0,0,.25);
  pointer-events: none; font-weight: 400; font-style: normal; min-width: 180px; }

/* Sudoku grid */
.boe-sudoku { display: flex; flex-direction: column; align-items: center; }
.sdk { display: grid; grid-template-columns: repeat(9, 46px); grid-template-rows: repeat(9, 46px);
  border: 3px solid #1f2937; border-radius: 6px; background: #fff; width: max-content; }
.sdk .cell { position: relative; display: flex; align-items: center; justify-content: center; font-size: 22px;
  font-family: Inter, system-ui, sans-serif; border-right: 1px solid #d1d5db; border-bottom: 1px solid #d1d5db;
  color: #1d4ed8; background: #fff; }
.sdk .cell:nth-child(9n) { border-right: none; }
.sdk .cell:nth-last-child(-n+9) { border-bottom: none; }
.sdk .cell.br { border-right: 3px solid #1f2937; }
.sdk .cell.bb { border-bottom: 3px solid #1f2937; }
.sdk .cell.clue { background: #eef1f5; color: #111827; font-weight: 700; }
.sdk .cell.prev { color: #1d4ed8; }
.sdk .cell.new { background: #22c55e; color: #fff; font-weight: 700; box-shadow: inset 0 0 0 2px #15803d; }
.sdk .cell.mask { color: #9ca3af; font-size: 15px; }
.sdk .cell.err-rule { box-shadow: inset 0 0 0 3px #dc2626; }
.sdk .cell.err-sol::before { content: ""; position: absolute; top: 0; right: 0; border-style: solid;
  border-width: 0 12px 12px 0; border-color: transparent #dc2626 transparent transparent; }
.sdk .cell.err-sol { color: #b91c1c; text-decoration: line-through; text-decoration-thickness: 2px; }
.sdk .cell.new.err-sol { color: #fff; background: #dc2626; }
.tok.err-rule { box-shadow: inset 0 0 0 2px #dc2626; }
.tok.err-sol { color: #b91c1c; border-color: #dc2626; text-decoration: line-through; text-decoration-thickness: 2px; }
.tok.new.err-sol { color: #fff; background: #dc2626; }
/* facts tasks (bio): the root of a wrong fact, and the wrong text that follows from it */
.tok.err-root { background: #b91c1c; color: #fff; border: 2px solid #7f1d1d; font-weight: 700; }
.tok.err-cascade { background: #fdba74; color: #7c2d12; border: 2px solid #ea580c; font-weight: 700; }
.tok.new.err-cascade { background: #ea580c; color: #fff; }

/* grid editor (sidebar) */
.sdk.sdk-edit { grid-template-columns: repeat(9, 32px); grid-template-rows: repeat(9, 32px); margin: 4px auto; }
.sdk-edit input.cell { width: 100%; height: 100%; box-sizing: border-box; text-align: center; font-size: 17px;
  font-weight: 700; color: #111827; background: #fff; border: none; border-right: 1px solid #d1d5db;
  border-bottom: 1px solid #d1d5db; border-radius: 0; padding: 0; outline: none; caret-color: #4f46e5; }
.sdk-edit input.cell:nth-child(9n) { border-right: none; }
.sdk-edit input.cell:nth-last-child(-n+9) { border-bottom: none; }
.sdk-edit input.cell.br { border-right: 3px solid #1f2937; }
.sdk-edit input.cell.bb { border-bottom: 3px solid #1f2937; }
.sdk-edit input.cell:focus { background: #eef2ff; box-shadow: inset 0 0 0 2px #6366f1; }
.hint-text p { font-size: 12px; color: #6b7280; margin: 2px 0 0 0; text-align: center; }

/* legend */
.boe-legend { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; font-size: 13px; color: #374151;
  margin-top: 10px; padding-top: 8px; border-top: 1px solid #f3f4f6; }
.lg-item { display: inline-flex; align-items: center; gap: 6px; }
.lg-sw { width: 16px; height: 16px; border-radius: 4px; display: inline-block; border: 1px solid #e5e7eb; }
.lg-fixed { background: #eef1f5; } .lg-prev { background: #fff; border-color: #93a5f5; }
.lg-new { background: #22c55e; border-color: #15803d; } .lg-mask { background: #f9fafb; border: 1.5px dashed #9ca3af; }
.lg-rule { background: #fff; box-shadow: inset 0 0 0 3px #dc2626; } .lg-sol { background: #fee2e2; border-color: #dc2626; }
.lg-root { background: #b91c1c; border-color: #7f1d1d; } .lg-cascade { background: #fdba74; border: 2px solid #ea580c; }
.lg-bar { width: 120px; height: 10px; border-radius: 5px; display: inline-block; border: 1px solid #e5e7eb; }
.lg-num { font-family: ui-monospace, monospace; font-size: 12px; color: #6b7280; }

/* status badges */
.boe-status { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 13px; }
.boe-status .commits { flex-basis: 100%; color: #374151; margin-top: 2px; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 999px; background: #eef2ff; color: #3730a3;
  border: 1px solid #e0e7ff; white-space: nowrap; }
.badge.strong { background: #4f46e5; color: #fff; border-color: #4f46e5; font-weight: 600; }
.badge.muted { background: #f3f4f6; color: #4b5563; border-color: #e5e7eb; }
.badge.ok { background: #dcfce7; color: #166534; border-color: #bbf7d0; }
.badge.bad { background: #fee2e2; color: #991b1b; border-color: #fecaca; }
.badge.warn { background: #fef3c7; color: #92400e; border-color: #fde68a; }
.badge.run { background: #e0f2fe; color: #075985; border-color: #bae6fd; }
.badge.policy { background: #ede9fe; color: #5b21b6; border-color: #ddd6fe; }
.badge.policy.alt { background: #ffedd5; color: #9a3412; border-color: #fed7aa; }
.badge.diverge { background: #fae8ff; color: #86198f; border-color: #f5d0fe; }
.boe-messages .msg { padding: 6px 10px; border-radius: 8px; margin: 4px 0; font-size: 13px; }
.boe-messages .msg.info { background: #eff6ff; color: #1e40af; }
.boe-messages .msg.warn { background: #fffbeb; color: #92400e; }
/* confidence's own pick: an amber dot (agrees with the commit) or an amber dashed ring (it would commit elsewhere) */
.tok.cpick, .sdk .cell.cpick { background-image: radial-gradient(circle at 6px calc(100% - 6px), #f59e0b 3.5px,
  #ffffff 4.5px, transparent 5px) !important; }
.tok.cpick-only, .sdk .cell.cpick-only { outline: 2px dashed #f59e0b; outline-offset: -3px; }
.lg-remasked { background: #fff; border: 1.5px dashed #7c3aed; }
.lg-cpick { background: #fff; outline: 2px dashed #f59e0b; outline-offset: -3px; position: relative; }
.boe-status .cpick-line, .boe-status .notes-line { flex-basis: 100%; color: #374151; margin-top: 2px; }
.boe-status .notes-line { color: #92400e; }
/* lock-in map: one column per hand-over step; the cell is the outcome, the bar the distance from the run */
.lockin { font-size: 12px; color: #374151; }
.lockin .li-cols { display: flex; align-items: flex-end; gap: 2px; overflow-x: auto; padding: 4px 0; }
.lockin .li-col { display: flex; flex-direction: column; align-items: stretch; min-width: 16px; flex: 1 1 0;
  cursor: pointer; border-radius: 4px; }
.lockin .li-col:hover { background: #eef2ff; }
.lockin .li-col.sel { background: #e0e7ff; outline: 2px solid #4f46e5; }
.lockin .li-out { height: 22px; border-radius: 3px; display: flex; align-items: center; justify-content: center;
  color: #fff; font-weight: 600; font-size: 10px; }
.lockin .li-out.solved { background: #16a34a; } .lockin .li-out.wrong { background: #dc2626; }
.lockin .li-out.unknown { background: #6b7280; }
.lockin .li-out.inferred { opacity: .55; }
.lockin .li-barbox { height: 90px; display: flex; align-items: flex-end; }
.lockin .li-bar { width: 100%; background: #a5b4fc; border-radius: 2px 2px 0 0; min-height: 2px; }
.lockin .li-x { text-align: center; color: #6b7280; font-size: 10px; }
.lockin .li-axis { color: #6b7280; margin: 2px 0; }
.progress { height: 8px; background: #f3f4f6; border-radius: 4px; overflow: hidden; margin: 4px 0; }
.progress > div { height: 100%; background: #4f46e5; }
.story-text { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; padding: 8px 10px; font-size: 13px; }
.compare-pane { padding: 4px; }
.compare-pane .sdk { grid-template-columns: repeat(9, 38px); grid-template-rows: repeat(9, 38px); }
.compare-pane .sdk .cell { font-size: 18px; }
@media (max-width: 1100px) { .sdk { grid-template-columns: repeat(9, 36px); grid-template-rows: repeat(9, 36px); } }
/* interventions (app/intervene.py) and the Cascade tab (app/cascade.py) */
#canvas [data-commit] { cursor: pointer; }
#canvas [data-commit]:hover { outline: 2px solid #0891b2; outline-offset: 1px; }
.tok.edited, .cell.edited { outline: 3px dashed #0891b2 !important; outline-offset: 1px; background: #cffafe !important; color: #155e75 !important; }
.badge.edited { background: #cffafe; color: #155e75; border-color: #a5f3fc; }
.badge.strong.edited { background: #0891b2; color: #fff; border-color: #0891b2; }
.tok.suspect, .cell.suspect { outline: 3px solid #dc2626; outline-offset: 1px; position: relative; }
.suspect[data-rank]::after { content: attr(data-rank); position: absolute; top: -8px; right: -8px; background: #dc2626;
  color: #fff; font-size: 10px; font-weight: 700; border-radius: 8px; padding: 0 4px; line-height: 15px; z-index: 3; }
.dep { font-size: 11px; overflow: auto; max-height: 460px; border: 1px solid #e5e7eb; border-radius: 8px; padding: 6px; }
.dep-row { display: flex; align-items: center; gap: 6px; cursor: pointer; line-height: 12px; }
.dep-row:hover { background: #eef2ff; }
.dep-row.top .dep-label { color: #b91c1c; font-weight: 700; }
.dep-label { width: 150px; flex: none; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
.dep-cells { display: flex; gap: 1px; }
.dep-cells i { width: var(--dep-w, 7px); height: 11px; background: #f3f4f6; display: inline-block; }
.dep-cells i.chg { background: #f97316; }
.dep-cells i.self { background: #1e1b4b; }
.dep-cells i.none { background: repeating-linear-gradient(45deg, #f3f4f6, #f3f4f6 2px, #e5e7eb 2px, #e5e7eb 4px); }
.dep-n { width: 28px; flex: none; text-align: right; color: #6b7280; }
.dep-head { color: #4b5563; margin-bottom: 4px; }
.roots { overflow: auto; max-height: 460px; border: 1px solid #e5e7eb; border-radius: 8px; }
.roots table { border-collapse: collapse; font-size: 11px; width: 100%; }
.roots th { position: sticky; top: 0; background: #f9fafb; font-weight: 600; text-align: right; padding: 3px 4px; border-bottom: 1px solid #e5e7eb; font-size: 10.5px; vertical-align: bottom; }
.roots td { text-align: right; padding: 2px 4px; border-bottom: 1px solid #f3f4f6; font-variant-numeric: tabular-nums; }
.roots td.tk, .roots th.tk { text-align: left; font-family: ui-monospace, monospace; }
.roots tr[data-step] { cursor: pointer; }
.roots tr[data-step]:hover { background: #eef2ff; }
.roots td.top3 { background: #fee2e2; color: #991b1b; font-weight: 700; }
.roots td.yes { color: #166534; font-weight: 700; }
.roots td.no { color: #9ca3af; }
.roots tr.wrong td.tk { color: #b91c1c; }
"""
