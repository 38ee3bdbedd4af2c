//! Browser tests: placeholder until the WebDriver suite lands.
