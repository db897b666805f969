"""The application side: clients bound to one DC, their guards and clocks."""
