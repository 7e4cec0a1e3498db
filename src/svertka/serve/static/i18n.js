// The page's two languages. Russian uses the lecture notes' own terms (свёртка, ядро/фильтр,
// шаг, дополнение, пулинг, рецептивное поле, карта признаков), with the English term beside
// them where a reader may meet it in papers and code.
//
// Every element with data-i18n="key" gets t(key) as its text; data-i18n-title and
// data-i18n-aria set the title and aria-label attributes. Values are strings with {name}
// placeholders, or functions of the parameters where Russian needs plural forms.
"use strict";

window.svertkaI18n = (() => {
  const ruPlural = (n, one, few, many) => {
    const form = new Intl.PluralRules("ru-RU").select(Math.abs(Math.trunc(Number(n))));
    return form === "one" ? one : form === "few" ? few : many;
  };
  const enPlural = (n, one, many) => (Number(n) === 1 ? one : many);
  const int = (n, lang) => Number(n).toLocaleString(lang === "ru" ? "ru-RU" : "en-US");

  const en = {
    "app.title": "svertka: look inside a convolutional network",
    "app.subtitle": "Draw a digit and watch the network see it, layer by layer.",
    "model.label": "Model",
    "lang.ru": "Русский",
    "lang.en": "English",
    "lang.group": "Language",

    "draw.title.digits": "Draw a digit",
    "draw.title.letters": "Draw a letter",
    "draw.title.images": "Draw or upload a picture",
    "draw.hint": "With a mouse, a finger or a pen; the prediction follows as you draw.",
    "draw.canvas": "Drawing area",
    "draw.clear": "Clear",
    "draw.example": "Example",
    "draw.upload": "Upload a file…",

    "input.title": "What the network receives",
    "input.caption.digits": "{h}×{w} pixels, grey: bright ink on black, fitted into a 20×20 box "
      + "and centred by its centre of mass, as in MNIST.",
    "input.caption.images": "{h}×{w}×{c}: the picture resized to the network's input.",
    "input.empty": "Draw something and it appears here as the network sees it.",
    "input.pixel": "row {y}, column {x}: {v}",
    "input.alt": "The network's input",

    "attr.title": "Where did the network look?",
    "attr.gradcam": "Grad-CAM",
    "attr.saliency": "Saliency",
    "attr.opacity": "Overlay strength",
    "attr.shown.gradcam": "Grad-CAM for class “{label}”: the last convolution's feature maps "
      + "weighted by how much they raise that class.",
    "attr.shown.saliency": "Saliency for class “{label}”: how strongly each input pixel changes "
      + "that class's score (|gradient|).",

    "pred.title": "Prediction",
    "pred.hint": "The top classes with their probabilities (softmax). Click a class to explain "
      + "that class with Grad-CAM or saliency.",
    "pred.timing": "server {ms} ms · round trip {rt} ms",

    "layers.title": "Layer by layer",
    "layers.intro": "Each layer turns its input into feature maps, one per filter. Bright cells "
      + "are where a filter found its pattern. Click any cell to see the arithmetic that made it.",
    "layers.loading": "Loading the model…",
    "layer.output": "output {shape}",
    "layer.params": (p) => `${int(p.n, "en")} ${enPlural(p.n, "parameter", "parameters")}`,
    "layer.rf": "receptive field {h}×{w} (jump {j})",
    "layer.rf.whole": "receptive field: the whole input",
    "layer.activation": "activation {a}",
    "layer.waiting": "The maps appear when you draw or upload something.",
    "layer.more": (p) => `Show all ${int(p.n, "en")} maps`,
    "layer.filters": "Filters",
    "layer.values": (p) => `${int(p.n, "en")} ${enPlural(p.n, "value", "values")}, one per `
      + "neuron",
    "layer.map": "feature map {c} of {layer}",

    "type.Conv2D": "convolution",
    "type.DepthwiseConv2D": "depthwise convolution",
    "type.SeparableConv2D": "separable convolution",
    "type.Conv2DTranspose": "transposed convolution",
    "type.MaxPooling2D": "max pooling",
    "type.AveragePooling2D": "average pooling",
    "type.SumPooling2D": "sum pooling",
    "type.MinPooling2D": "min pooling",
    "type.GlobalAveragePooling2D": "global average pooling",
    "type.GlobalMaxPooling2D": "global max pooling",
    "type.Dense": "fully connected",
    "type.Flatten": "flatten",
    "type.Dropout": "dropout",
    "type.BatchNormalization": "batch normalisation",
    "type.Activation": "activation",
    "type.ReLU": "activation",
    "type.Add": "sum (residual connection)",
    "type.ZeroPadding2D": "zero padding",
    "type.InputLayer": "input",

    "act.linear": "linear (no activation)",

    "cell.title": "The arithmetic of one cell",
    "cell.empty": "Click a cell of any feature map: its receptive field is outlined on the "
      + "input and the arithmetic that produced its value appears here, with the model's "
      + "real numbers.",
    "cell.heading": "{layer}, channel {c}, row y = {y}, column x = {x}",
    "cell.value": "Value in the feature map:",
    "cell.loading": "Computing…",
    "cell.explain.conv": "The kernel (filter) of channel {c} lies over the input window. "
      + "Multiply element by element, add all the products up (Σ), add the bias b, then apply "
      + "the activation: that is the value of the cell. Sliding the kernel by the stride "
      + "gives the neighbouring cells.",
    "cell.window": "input window",
    "cell.kernel": "kernel (filter)",
    "cell.products": "products",
    "cell.input_channel": "input channel",
    "cell.sum": "Σ",
    "cell.bias": "bias",
    "cell.check": "= the value in the map",
    "cell.pad": "padding: zeros outside the input",
    "cell.note.channels": "This layer has {cin} input channels. The window, the kernel and "
      + "the products are shown for the first {shown}; Σ adds the sums of all {cin} channels "
      + "(the per-channel sums are listed).",
    "cell.note.channels.all": "This layer has {cin} input channels: each channel's window "
      + "and kernel give a sum, and Σ adds them up.",
    "cell.explain.pool.max": "Max pooling keeps the largest value of its {ph}×{pw} window "
      + "(marked). It has no parameters.",
    "cell.explain.pool.average": "Average pooling takes the mean of its {ph}×{pw} window. "
      + "It has no parameters.",
    "cell.pool.window": "pooling window, channel {c}",
    "cell.other": "A {type} layer is not a plain convolution or a pooling: its value and its receptive field are shown, not its arithmetic.",
    "cell.rf": "Receptive field on the input: rows {top}–{bottom}, columns {left}–{right} "
      + "({h}×{w} pixels), outlined on the picture.",

    "filters.title": "Filters (kernels)",
    "filters.show": "Show filters",
    "filters.hint": "Choose a convolution layer (click one of its maps), then show its filters.",
    "filters.heading": (p) => `${p.layer}: ${int(p.cout, "en")} `
      + `${enPlural(p.cout, "filter", "filters")} of ${p.kh}×${p.kw}×${p.cin}. Each filter `
      + "makes one feature map; click one to find its map.",
    "filters.item": "filter {c}",

    "train.title": "Train from the page",
    "train.intro": "Train the served model on the MNIST sample that ships with svertka and "
      + "watch the loss fall (the notes' plotLoss); Stop interrupts it (interrupt). "
      + "The views then show the model as it is at that moment.",
    "train.epochs": "Epochs",
    "train.start": "Start",
    "train.stop": "Stop",
    "train.loss": "loss",
    "train.iteration": "iteration",
    "train.nodata": "The loss curve appears here.",
    "train.idle": "Not started.",
    "train.starting": "Starting…",
    "train.running": "Training running: epoch {epoch} of {total}, iteration {it}, loss {loss}.",
    "train.stopping": "Stopping…",
    "train.stopped": "Training stopped at iteration {it}, loss {loss}.",
    "train.done": "Training done: {it} iterations, loss {loss}, test accuracy {acc}.",
    "train.failed": "Training failed: {error}",
    "train.unavailable": "Training from the page is for small models only (a 28×28×1 input "
      + "and at most 2 million parameters).",

    "err.too_big": "The file “{name}” is {size} MB; the server accepts at most {limit} MB. "
      + "Choose a smaller image.",
    "err.network": "The server does not answer ({detail}). Is svertka serve still running?",
    "err.model": "Could not load the model: {detail}",
    "err.predict": "Prediction failed: {detail}",
    "err.upload": "The file “{name}” could not be used: {detail}",
    "err.features": "Could not load the feature maps of {layer}: {detail}",
    "err.cell": "Could not compute the cell: {detail}",
    "err.filters": "Could not load the filters: {detail}",
    "err.attribution": "Could not compute {method}: {detail}",
    "err.train": "Training: {detail}",
    "err.no_input": "Draw or upload an image first.",
    "err.no_conv": "This model has no convolution layer, so it has no filters to show.",
    "err.413": "the request is larger than the server's limit of {limit} MB",
  };

  const ru = {
    "app.title": "svertka: заглянуть внутрь свёрточной сети",
    "app.subtitle": "Нарисуйте цифру и посмотрите, как сеть видит её — слой за слоем.",
    "model.label": "Модель",
    "lang.ru": "Русский",
    "lang.en": "English",
    "lang.group": "Язык",

    "draw.title.digits": "Нарисуйте цифру",
    "draw.title.letters": "Нарисуйте букву",
    "draw.title.images": "Нарисуйте или загрузите картинку",
    "draw.hint": "Мышью, пальцем или пером; предсказание меняется прямо во время рисования.",
    "draw.canvas": "Поле для рисования",
    "draw.clear": "Очистить",
    "draw.example": "Пример",
    "draw.upload": "Загрузить файл…",

    "input.title": "Что получает сеть",
    "input.caption.digits": "{h}×{w} пикселей в оттенках серого: светлые штрихи на чёрном, "
      + "вписаны в квадрат 20×20 и отцентрированы по центру масс, как в MNIST.",
    "input.caption.images": "{h}×{w}×{c}: картинка, приведённая к размеру входа сети.",
    "input.empty": "Нарисуйте что-нибудь — здесь появится то, что видит сеть.",
    "input.pixel": "строка {y}, столбец {x}: {v}",
    "input.alt": "Вход сети",

    "attr.title": "Куда смотрела сеть?",
    "attr.gradcam": "Grad-CAM",
    "attr.saliency": "Карта значимости (saliency)",
    "attr.opacity": "Яркость наложения",
    "attr.shown.gradcam": "Grad-CAM для класса «{label}»: карты признаков последней свёртки, "
      + "взвешенные по тому, насколько они повышают этот класс.",
    "attr.shown.saliency": "Карта значимости для класса «{label}»: насколько сильно каждый "
      + "пиксель входа меняет оценку класса (|градиент|).",

    "pred.title": "Предсказание",
    "pred.hint": "Самые вероятные классы и их вероятности (softmax). Нажмите на класс, чтобы "
      + "объяснить его через Grad-CAM или карту значимости.",
    "pred.timing": "сервер {ms} мс · запрос целиком {rt} мс",

    "layers.title": "Слой за слоем",
    "layers.intro": "Каждый слой превращает свой вход в карты признаков (feature maps) — по "
      + "одной на фильтр. Яркие клетки — там, где фильтр нашёл свой узор. Нажмите на любую "
      + "клетку, чтобы увидеть вычисление, которое её дало.",
    "layers.loading": "Загружаем модель…",
    "layer.output": "выход {shape}",
    "layer.params": (p) => `${int(p.n, "ru")} `
      + ruPlural(p.n, "параметр", "параметра", "параметров"),
    "layer.rf": "рецептивное поле {h}×{w} (шаг по входу {j})",
    "layer.rf.whole": "рецептивное поле: весь вход",
    "layer.activation": "активация {a}",
    "layer.waiting": "Карты признаков появятся, когда вы что-нибудь нарисуете или загрузите.",
    "layer.more": (p) => `Показать все ${int(p.n, "ru")} `
      + ruPlural(p.n, "карту", "карты", "карт"),
    "layer.filters": "Фильтры",
    "layer.values": (p) => `${int(p.n, "ru")} `
      + `${ruPlural(p.n, "значение", "значения", "значений")}, по одному на нейрон`,
    "layer.map": "карта признаков {c} слоя {layer}",

    "type.Conv2D": "свёртка",
    "type.DepthwiseConv2D": "поканальная свёртка",
    "type.SeparableConv2D": "разделимая свёртка",
    "type.Conv2DTranspose": "транспонированная свёртка",
    "type.MaxPooling2D": "пулинг по максимуму",
    "type.AveragePooling2D": "пулинг по среднему",
    "type.SumPooling2D": "пулинг по сумме",
    "type.MinPooling2D": "пулинг по минимуму",
    "type.GlobalAveragePooling2D": "глобальный пулинг по среднему",
    "type.GlobalMaxPooling2D": "глобальный пулинг по максимуму",
    "type.Dense": "полносвязный слой",
    "type.Flatten": "выпрямление",
    "type.Dropout": "прореживание (dropout)",
    "type.BatchNormalization": "пакетная нормализация",
    "type.Activation": "активация",
    "type.ReLU": "активация",
    "type.Add": "сумма (остаточная связь)",
    "type.ZeroPadding2D": "дополнение нулями",
    "type.InputLayer": "вход",

    "act.linear": "линейная (без активации)",

    "cell.title": "Вычисление одной клетки",
    "cell.empty": "Нажмите на клетку любой карты признаков: её рецептивное поле обведётся на "
      + "входе, а здесь появится вычисление, которое дало её значение, — на настоящих "
      + "числах модели.",
    "cell.heading": "{layer}, канал {c}, строка y = {y}, столбец x = {x}",
    "cell.value": "Значение в карте признаков:",
    "cell.loading": "Считаем…",
    "cell.explain.conv": "Ядро (фильтр) канала {c} накладывается на окно входа. Умножаем "
      + "поэлементно, складываем все произведения (Σ), прибавляем смещение b и применяем "
      + "функцию активации — получаем значение клетки. Сдвиг ядра на шаг даёт соседние "
      + "клетки.",
    "cell.window": "окно входа",
    "cell.kernel": "ядро (фильтр)",
    "cell.products": "произведения",
    "cell.input_channel": "входной канал",
    "cell.sum": "Σ",
    "cell.bias": "смещение",
    "cell.check": "= значение в карте",
    "cell.pad": "дополнение (padding): нули за краем входа",
    "cell.note.channels": "У слоя {cin} входных каналов. Окно, ядро и произведения показаны "
      + "для первых {shown}; Σ складывает суммы всех {cin} каналов (они перечислены).",
    "cell.note.channels.all": "У слоя {cin} входных каналов: окно и ядро каждого канала дают "
      + "свою сумму, а Σ складывает их.",
    "cell.explain.pool.max": "Пулинг по максимуму (max pooling) оставляет наибольшее значение "
      + "своего окна {ph}×{pw} (оно отмечено). Параметров у пулинга нет.",
    "cell.explain.pool.average": "Пулинг по среднему (average pooling) берёт среднее своего "
      + "окна {ph}×{pw}. Параметров у пулинга нет.",
    "cell.pool.window": "окно пулинга, канал {c}",
    "cell.other": "Слой «{type}» — не обычная свёртка и не пулинг: показаны его значение и рецептивное поле, без вычисления.",
    "cell.rf": "Рецептивное поле на входе: строки {top}–{bottom}, столбцы {left}–{right} "
      + "({h}×{w} пикс.), обведено на картинке.",

    "filters.title": "Фильтры (ядра)",
    "filters.show": "Показать фильтры",
    "filters.hint": "Выберите свёрточный слой (нажмите на одну из его карт) и покажите его "
      + "фильтры.",
    "filters.heading": (p) => `${p.layer}: ${int(p.cout, "ru")} `
      + `${ruPlural(p.cout, "фильтр", "фильтра", "фильтров")} ${p.kh}×${p.kw}×${p.cin}. `
      + "Каждый фильтр даёт одну карту признаков; нажмите на фильтр, чтобы найти его карту.",
    "filters.item": "фильтр {c}",

    "train.title": "Обучение на странице",
    "train.intro": "Обучите модель на выборке MNIST, встроенной в svertka, и следите, "
      + "как падают потери (plotLoss из конспекта); «Остановить» прерывает обучение "
      + "(interrupt). После этого все виды показывают модель такой, какая она в этот момент.",
    "train.epochs": "Эпохи",
    "train.start": "Начать",
    "train.stop": "Остановить",
    "train.loss": "потери (loss)",
    "train.iteration": "итерация",
    "train.nodata": "Здесь появится кривая потерь.",
    "train.idle": "Не запущено.",
    "train.starting": "Запуск…",
    "train.running": "Идёт обучение: эпоха {epoch} из {total}, итерация {it}, потери {loss}.",
    "train.stopping": "Останавливаем…",
    "train.stopped": "Остановлено на итерации {it}, потери {loss}.",
    "train.done": "Готово: {it} итераций, потери {loss}, точность на тесте {acc}.",
    "train.failed": "Обучение прервалось с ошибкой: {error}",
    "train.unavailable": "Обучать со страницы можно только небольшие модели (вход 28×28×1 "
      + "и не больше 2 миллионов параметров).",

    "err.too_big": "Файл «{name}» весит {size} МБ, а сервер принимает не больше {limit} МБ. "
      + "Выберите изображение поменьше.",
    "err.network": "Сервер не отвечает ({detail}). Запущен ли ещё svertka serve?",
    "err.model": "Не удалось загрузить модель: {detail}",
    "err.predict": "Предсказание не получилось: {detail}",
    "err.upload": "Файл «{name}» не подошёл: {detail}",
    "err.features": "Не удалось загрузить карты признаков слоя {layer}: {detail}",
    "err.cell": "Не удалось вычислить клетку: {detail}",
    "err.filters": "Не удалось загрузить фильтры: {detail}",
    "err.attribution": "Не удалось построить {method}: {detail}",
    "err.train": "Обучение: {detail}",
    "err.no_input": "Сначала нарисуйте или загрузите изображение.",
    "err.no_conv": "В этой модели нет свёрточных слоёв, поэтому фильтров нет.",
    "err.413": "запрос больше предела сервера в {limit} МБ",
  };

  const dicts = { en, ru };
  let lang = "en";

  function t(key, params = {}) {
    const entry = dicts[lang][key] ?? dicts.en[key];
    if (entry === undefined) return key;
    if (typeof entry === "function") return entry(params);
    return entry.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }

  function has(key) {
    return key in dicts[lang] || key in dicts.en;
  }

  function apply(root = document) {
    for (const node of root.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of root.querySelectorAll("[data-i18n-title]")) {
      node.title = t(node.dataset.i18nTitle);
    }
    for (const node of root.querySelectorAll("[data-i18n-aria]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAria));
    }
  }

  function setLang(next) {
    lang = next in dicts ? next : "en";
    document.documentElement.lang = lang;
    apply();
    return lang;
  }

  function initialLang() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked in dicts) return asked;
    try {
      const kept = localStorage.getItem("svertka.lang");
      if (kept in dicts) return kept;
    } catch {
      // storage can be disabled (private mode, file://): fall through to the browser's choice
    }
    const preferred = navigator.languages || [navigator.language || "en"];
    return preferred.some((l) => String(l).toLowerCase().startsWith("ru")) ? "ru" : "en";
  }

  return {
    t,
    has,
    apply,
    setLang,
    initialLang,
    get lang() {
      return lang;
    },
    keys: (which) => Object.keys(dicts[which]),
  };
})();
