-- The zpizza.com menu (tenant-sdk/examples/menu.c): `make` builds
-- tenant-sdk/examples/menu-data/menu.db from this file with sqlite3, and
-- etc/kvm-fpm.ini gives that directory as the tenant's data_dir.
-- Ingredients are comma-separated; no HTML or JSON special characters
-- (menu.c writes them out unescaped).
CREATE TABLE pizza (
	slug        TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	price_cents INTEGER NOT NULL,
	ingredients TEXT NOT NULL
);
INSERT INTO pizza VALUES
('margherita', 'Margherita', 850, 'tomato,mozzarella,basil'),
('marinara', 'Marinara', 700, 'tomato,garlic,oregano,olive oil'),
('pepperoni', 'Pepperoni', 1050, 'tomato,mozzarella,pepperoni'),
('quattro-formaggi', 'Quattro Formaggi', 1250,
 'mozzarella,gorgonzola,parmesan,fontina'),
('funghi', 'Funghi', 950, 'tomato,mozzarella,mushrooms'),
('capricciosa', 'Capricciosa', 1200,
 'tomato,mozzarella,ham,mushrooms,artichokes,olives'),
('diavola', 'Diavola', 1100, 'tomato,mozzarella,spicy salami,chili'),
('prosciutto-e-rucola', 'Prosciutto e Rucola', 1350,
 'tomato,mozzarella,prosciutto,rocket,parmesan'),
('vegetariana', 'Vegetariana', 1150,
 'tomato,mozzarella,peppers,courgette,aubergine,onion'),
('napoletana', 'Napoletana', 900,
 'tomato,mozzarella,anchovies,capers,oregano'),
('hawaii', 'Hawaii', 1000, 'tomato,mozzarella,ham,pineapple'),
('calzone', 'Calzone', 1150, 'mozzarella,ricotta,ham,mushrooms');
