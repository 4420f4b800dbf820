// Make widget pages work with no network: load the widget manager from this book's
// _static folder instead of a CDN, and let it typeset math with the vendored MathJax 3.
(function () {
  // The theme's FontAwesome script (deferred, so it runs after this one) replaces every
  // <i class="fa ..."> with an <svg>. The Play widget later looks its <i> icon up to switch
  // play/pause, finds none and throws; the exception also stops the jslinks of that change,
  // so a static animation never moves. Without the replacement the icons come from
  // FontAwesome's web font, which the theme ships as well.
  window.FontAwesomeConfig = Object.assign({}, window.FontAwesomeConfig, { autoReplaceSvg: false });
  // coursekit's demos (coursekit/widgets.py) carry two sets of controls: live ones, which call
  // Python, and precomputed ones, which pick frames embedded in the page through jslinks and
  // are hidden in a notebook by their own layout. This page has no kernel: swap them.
  var demoStyle = document.createElement("style");
  demoStyle.textContent =
    ".coursekit-demo .coursekit-live { display: none !important; }\n" +
    ".coursekit-demo .coursekit-static { display: flex !important; }";
  document.head.appendChild(demoStyle);
  var staticRoot = (document.documentElement.dataset.content_root || "") + "_static/";
  var manager = staticRoot + "html-manager/";

  // embed-amd.js defines these modules itself; require.js still derives each module's URL
  // from these paths, and webpack resolves the bundled fonts relative to that URL.
  if (window.require && window.require.config) {
    window.require.config({
      paths: {
        "@jupyter-widgets/base": manager + "base",
        "@jupyter-widgets/base7": manager + "base7",
        "@jupyter-widgets/controls": manager + "controls",
        "@jupyter-widgets/controls7": manager + "controls7",
        "@jupyter-widgets/output": manager + "output",
        "@jupyter-widgets/html-manager": manager + "html-manager",
        "@jupyter-widgets/html-manager/dist/libembed-amd": manager + "libembed-amd",
      },
    });
  }

  // The widget manager typesets widget labels with MathJax v2's MathJax.Hub.Queue, but the
  // book ships MathJax 3, which replaces window.MathJax with its own object when it loads.
  // Re-attach a small v2-style Hub to whatever object window.MathJax becomes.
  // Called as MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]): typeset just that element
  // (the page-wide pass skips widget output, which lies outside Sphinx's math classes).
  function typesetWhenReady() {
    var mathjax = window.MathJax;
    var elements = [];
    for (var i = 0; i < arguments.length; i++) {
      var job = arguments[i];
      if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
    }
    if (mathjax.startup && mathjax.startup.promise) {
      mathjax.startup.promise
        .then(function () { return mathjax.typesetPromise(elements.length ? elements : undefined); })
        .catch(function (error) { console.warn("MathJax typeset failed:", error); });
    }
  }
  function addHub(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      mathjax.Hub = { Queue: typesetWhenReady };
    }
  }
  var current = window.MathJax || {};
  addHub(current);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = value; addHub(value); },
  });
})();
