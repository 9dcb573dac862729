-- Each company may lean its hybrid search on one leg: the dense leg's share of the fusion (the full-text
-- leg has the rest). NULL keeps the default, both legs alike. A French shop served by an English-trained
-- model, for one, is better served by its full text (see the README's FQuAD figures).

ALTER TABLE companies ADD COLUMN dense_weight real CHECK (dense_weight BETWEEN 0 AND 1);
