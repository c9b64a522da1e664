/**
 * Checks an exported notebook (or any page of reshoot charts) the way a reader
 * sees it: headless Chromium runs the page's scripts, then every plotly chart
 * must have rendered, with a chart title and a title on each of its axes.
 * Used by scripts/run-notebooks.ts after each HTML export and by
 * test/browser. Needs Debian's `chromium` (or RESHOOT_CHROMIUM).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserPage, findChromium } from './cdp.js';

export { findChromium };

function chromium(args: string[], timeoutMs: number): string {
  const profile = mkdtempSync(join(tmpdir(), 'reshoot-chromium-'));
  try {
    return execFileSync(
      findChromium(),
      [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args,
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'ignore'] },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM after its scripts ran. */
export function renderedDom(file: string, timeoutMs = 120_000): string {
  return chromium(['--virtual-time-budget=15000', '--dump-dom', `file://${file}`], timeoutMs);
}

/** A PNG of the top of the page (width x height CSS px). */
export function screenshot(file: string, png: string, width = 1280, height = 4000, timeoutMs = 120_000): void {
  chromium(['--virtual-time-budget=15000', `--window-size=${width},${height}`, `--screenshot=${png}`, `file://${file}`], timeoutMs);
}

/**
 * One headless Chromium for many pages: each page is loaded once for both its rendered DOM and a screenshot of
 * its top (renderedDom + screenshot start Chromium twice and load the page twice; on the notebooks' 5-10 MB pages
 * that was about 26 s of a 2-core machine at load 10 per notebook). A page counts as loaded when the document is
 * complete and every chart div holds plotly's SVG (or after `settleMs` more, whichever first).
 */
export class PageInspector {
  private constructor(private readonly page: BrowserPage) {}

  /** Starts Chromium; pages are laid out at width x height CSS px (the screenshot's size). */
  static async open(width = 1280, height = 4000): Promise<PageInspector> {
    const page = await BrowserPage.launch();
    await page.viewport(width, height);
    return new PageInspector(page);
  }

  /** Loads `file`, writes its screenshot to `png`, returns the DOM after its scripts ran. */
  async inspect(file: string, png: string, settleMs = 30_000): Promise<string> {
    await this.page.navigate(`file://${file}`);
    // The path check keeps the previous page (complete, charts drawn) from passing for this one.
    const drawn = `document.readyState === 'complete' && decodeURIComponent(location.pathname) === ${JSON.stringify(file)} && ` +
      `Array.from(document.querySelectorAll('div.reshoot-plot')).every(function (d) { return d.querySelector('.main-svg'); })`;
    try {
      await this.page.waitFor(drawn, `the charts of ${file}`, settleMs);
    } catch {
      // A chart that never draws is reported by chartProblems as "did not render".
    }
    // Plotly finishes titles and legends a moment after the SVG appears.
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(png, await this.page.screenshot());
    const dom = await this.page.evaluate<string>('document.documentElement.outerHTML');
    // Leave the page: its charts and clips need nothing while the next notebook runs.
    await this.page.navigate('about:blank');
    return dom;
  }

  close(): Promise<void> {
    return this.page.close();
  }
}

export interface RenderedChart {
  id: string;
  rendered: boolean;
  title: string;
  /** Axis title texts by class (xtitle, ytitle, y2title, ...). */
  axisTitles: Record<string, string>;
  /** Axis ids that are drawn (have ticks) but no title. */
  untitledAxes: string[];
}

const textOf = (svg: string, cls: string): string | undefined => {
  const m = svg.match(new RegExp(`<text[^>]*class="${cls}"[^>]*>([\\s\\S]*?)</text>`));
  return m ? m[1].replace(/<[^>]+>/g, '').trim() : undefined;
};

/** Each reshoot chart (div.reshoot-plot) of a rendered DOM, with what plotly drew as titles. */
export function renderedCharts(dom: string): RenderedChart[] {
  const starts = [...dom.matchAll(/<div id="([^"]+)" class="reshoot-plot[^"]*"/g)];
  return starts.map((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index! : dom.length;
    const html = dom.slice(m.index!, end);
    const axisTitles: Record<string, string> = {};
    const untitledAxes: string[] = [];
    // Plotly draws each cartesian axis's ticks in <g class="xtick">/<g class="y2tick"> and its title as <text class="x2title">.
    const axes = new Set([...html.matchAll(/class="([xy]\d*)tick"/g)].map((a) => a[1]));
    for (const ax of axes) {
      const t = textOf(html, `${ax}title`);
      if (t) axisTitles[`${ax}title`] = t;
      else untitledAxes.push(ax);
    }
    return { id: m[1], rendered: /class="main-svg"/.test(html), title: textOf(html, 'gtitle') ?? '', axisTitles, untitledAxes };
  });
}

/** Problems a reader would see in the rendered charts: not drawn, no title, an axis without a title. */
export function chartProblems(charts: RenderedChart[]): string[] {
  const out: string[] = [];
  for (const c of charts) {
    if (!c.rendered) out.push(`${c.id}: did not render`);
    else {
      if (!c.title) out.push(`${c.id}: no chart title`);
      for (const ax of c.untitledAxes) out.push(`${c.id} "${c.title}": axis ${ax} has no title`);
    }
  }
  return out;
}
